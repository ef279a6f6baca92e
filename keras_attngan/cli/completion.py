"""Bash completion for `attngan`: `source <(attngan --completion bash)`.

The script completes command names from `COMMANDS` and, at each TAB, a
command's flags from its own `--help`, so it follows every flag added later.
"""

BASH = r"""_attngan() {
    local cur="${COMP_WORDS[COMP_CWORD]}"
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "%(commands)s --help" -- "$cur"))
    elif [[ $cur == -* ]]; then
        # One flag per help line: --name=..., --[no]name, or -v, --name.
        local flags
        flags=$(attngan "${COMP_WORDS[1]}" --help 2>/dev/null | awk '/^  -/ {
            for (i = 1; i <= NF; i++) if ($i ~ /^--/) {
                flag = $i
                if (flag ~ /^--\[no\]/) { sub(/\[no\]/, "", flag); print flag; sub(/^--/, "--no", flag) }
                else sub(/=.*/, "=", flag)
                print flag
                break
            }
        }')
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _attngan attngan
"""

SHELLS = ("bash",)


def script(shell, commands):
    """The completion script for `shell`, completing `commands`."""
    if shell not in SHELLS:
        raise ValueError(
            f"`--completion` should be one of {list(SHELLS)}. Received: --completion={shell!r}"
        )
    return BASH % {"commands": " ".join(commands)}
