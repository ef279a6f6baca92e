"""The `attngan` command: one front door for the sub-commands.

What every sub-command shares lives here, once: `--help` built from the
command's own flag definitions, `-v/--verbose`, and how failures reach the
user. A refused input (a flag value, a config key, a path of the wrong kind)
is one line on stderr and exit code 2; a run that failed for a reason the
library names (`keras_attngan.core.errors`: a diverged run, a damaged file) is one
line and exit code 1; a warning of this library is one line; any other
failure is a bug and keeps its traceback (so does every failure under
`--verbose`). A reader closing the pipe early (`attngan --help | head`) is not
an error. Each sub-command is an absl app in its own module, imported
alone so that its flags stay its own; TensorFlow is imported only when a
command starts its work (`runtime.start_work`), so help answers at once.
"""

import importlib
import os
import re
import sys
import traceback
import warnings

from absl import app, flags, logging

from keras_attngan.cli import runtime
from keras_attngan.core import errors

# name -> (module, one-line summary).
COMMANDS = {
    "train": ("keras_attngan.cli.train", "train a config; rerun to resume from its last checkpoint"),
    "export": ("keras_attngan.cli.export", "export a workdir's latest checkpoint as a SavedModel"),
    "synthesize": ("keras_attngan.cli.synthesize", "write images from an export (png, npz, tfrecord)"),
    "evaluate": ("keras_attngan.cli.evaluate", "score an export or workdir against real data"),
    "study": ("keras_attngan.cli.study", "train configs x seeds under one budget; compare them"),
    "upscale": ("keras_attngan.cli.upscale", "super-resolve an image with a super-resolution export"),
}

# Flags every command takes, read before absl parses the rest: TensorFlow's
# log level must be set before TensorFlow is imported, which a user's config
# file may do while its flag is parsed. (absl's own `-v` means --verbosity=N.)
VERBOSE_FLAGS = ("-v", "--verbose")
HELP_FLAGS = ("-h", "--help", "--helpshort", "-?")
COMMON_FLAGS = (
    ("-v, --verbose", "Show TensorFlow's logging, and a traceback with every error."),
    ("-h, --help", "Show this help and exit."),
)

# Exceptions this library raises on purpose, with a message for the user.
# Raised inside TensorFlow or another library, the same types mean a bug.
INPUT_ERRORS = (ValueError, OSError, RuntimeError)


def _table(rows):
    width = max(len(left) for left, _ in rows)
    return [f"  {left:<{width}}  {right}" for left, right in rows]


def usage():
    """The help of `attngan` itself."""
    lines = ["usage: attngan COMMAND [flags]", "", "commands:"]
    lines += _table([(name, summary) for name, (_, summary) in COMMANDS.items()])
    lines += ["", "flags of every command:"] + _table(COMMON_FLAGS)
    lines += ["", "bash completion: source <(attngan --completion bash)"]
    lines += ["", "`attngan COMMAND --help` lists a command's flags; docs/cli.md has them all."]
    return "\n".join(lines)


def _is_required(flag):
    # absl records `mark_flag_as_required` only as a validator with this message.
    message = f"Flag --{flag.name} must have a value other than None."
    return any(getattr(validator, "message", "") == message for validator in flag.validators)


def _syntax(flag):
    if isinstance(flag, flags.BooleanFlag):
        return f"--[no]{flag.name}"
    if isinstance(flag, flags.EnumFlag):
        return f"--{flag.name}={{{','.join(flag.parser.enum_values)}}}"
    # The config flag's type is "object": a file, then optional --config.KEY=VALUE.
    kind = {"int": "INT", "float": "FLOAT", "string": "VALUE"}.get(flag.flag_type(), "FILE")
    return f"--{flag.name}={kind}"


def _describe(flag):
    text = " ".join(flag.help.split())
    if isinstance(flag, flags.EnumFlag):  # absl prefixes "<a|b|c>: ", shown by _syntax
        text = text.partition(">: ")[2]
    if _is_required(flag):
        return f"{text} (required)"
    if flag.default is not None:
        default = str(flag.default).lower() if isinstance(flag.default, bool) else flag.default
        return f"{text} (default: {default})"
    return text


def command_flags(module):
    """The flags `module` defines, as absl parsed their definitions."""
    return sorted(flags.FLAGS.flags_by_module_dict().get(module.__name__, []), key=lambda f: f.name)


def command_help(command, module):
    """The `--help` of one command: summary, one line per flag, examples."""
    summary, _, examples = (module.__doc__ or "").partition("\n")
    required = " ".join(_syntax(f) for f in command_flags(module) if _is_required(f))
    lines = [f"usage: attngan {command} {required} [flags]", "", summary.strip(), "", "flags:"]
    rows = [(_syntax(f), _describe(f)) for f in command_flags(module)]
    lines += _table(rows + list(COMMON_FLAGS))
    if examples.strip():
        lines += ["", "examples and notes:", examples.rstrip().strip("\n")]
    return "\n".join(lines)


def _refuse(what, message, code=2):
    """Reports a refused input (or, with code 1, a failed run) of `attngan WHAT` on one line; exits."""
    sys.stderr.write(f"attngan {what}: error: {' '.join(str(message).split())}\n")
    sys.exit(code)


def _one_line_warnings(command):
    """Shows each warning as ``attngan COMMAND: warning: MESSAGE``, on one line."""

    def show(message, category, filename, lineno, file=None, line=None):
        del category, filename, lineno, line
        text = " ".join(str(message).split())
        (file or sys.stderr).write(f"attngan {command}: warning: {text}\n")

    warnings.showwarning = show


def _pipe_closed():
    """The reader of stdout went away (`| head`): stop quietly, as Unix tools do."""
    # Python would report the unflushed output at exit; send it nowhere instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _raised_by_this_library(error):
    frame = error.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return runtime.from_this_library(frame.tb_frame.f_code.co_filename)


def _one_line(error):
    # ml_collections wraps a KeyError (whose str() is a repr) in an AttributeError.
    while error.args and isinstance(error.args[0], BaseException):
        error = error.args[0]
    text = error.args[0] if isinstance(error, KeyError) and error.args else error
    return " ".join(str(text).split())


def _parse_error_message(module, error, argv):
    """One line for a command line absl or a config file refused."""
    missing = [f"--{f.name}" for f in command_flags(module) if _is_required(f) and f.value is None]
    if missing and "must have a value other than None" in str(error):
        return f"missing required flag{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    text = _one_line(error)
    # A config file whose get_config refuses its argument reaches here wrapped in
    # ml_collections' traceback text: the file's own message is the user's.
    wrapped = re.match(r"(.*?)Error whilst parsing config file: Traceback .* \w+(?:Error|Exception): (.*)$", text)
    if wrapped:
        text = wrapped.group(1) + wrapped.group(2)
    unknown = re.match(r"'([^']+)' (.*)", text)
    if unknown and isinstance(error, (KeyError, AttributeError)):  # --config.a.b=V naming no config key: name it in full
        for arg in argv:
            flag_name, _, key = arg.lstrip("-").partition("=")[0].partition(".")
            if key and unknown.group(1) in key.split("."):
                return f"`{key}` is not a key of --{flag_name}. {unknown.group(2)}"
    return re.sub(r"^flag (--\S+?)=\S*: ", r"\1: ", text)


def run(argv=None):
    """Entry point of the `attngan` console script."""
    try:
        _run(list(sys.argv if argv is None else argv))
        sys.stdout.flush()
    except BrokenPipeError:
        _pipe_closed()


def _without_command(argv):
    """Answers a command line that names no command: the usage, the completion script, or a refusal."""
    received = argv[1] if len(argv) > 1 else None
    if received in HELP_FLAGS + ("--helpfull",):
        print(usage())
        sys.exit(0)
    if received == "--completion":
        from keras_attngan.cli import completion

        try:
            print(completion.script(argv[2] if len(argv) > 2 else "bash", COMMANDS))
        except ValueError as error:
            _refuse("--completion", error)
        sys.exit(0)
    message = f"attngan: error: unknown command {received!r}\n" if received else ""
    sys.stderr.write(f"{message}{usage()}\n")
    sys.exit(2)


def _run(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        _without_command(argv)
    command, rest = argv[1], argv[2:]
    end = rest.index("--") if "--" in rest else len(rest)
    verbose = any(arg in VERBOSE_FLAGS for arg in rest[:end])
    rest = [arg for index, arg in enumerate(rest) if index >= end or arg not in VERBOSE_FLAGS]
    runtime.configure(verbose)
    if not verbose:
        _one_line_warnings(command)
    module = importlib.import_module(COMMANDS[command][0])
    if any(arg in HELP_FLAGS for arg in rest[:end]):
        print(command_help(command, module))
        sys.exit(0)
    if "--helpfull" in rest[:end]:  # absl's flags too, grouped by module
        print(flags.FLAGS.get_help())
        sys.exit(0)

    def parse_flags(command_argv):
        try:
            return flags.FLAGS(command_argv)
        # Parsing reads the command line and the config file it names, nothing
        # else: whatever fails here is the user's to fix.
        except Exception as error:  # noqa: BLE001
            if verbose:
                traceback.print_exc()
            message = _parse_error_message(module, error, command_argv)
            _refuse(command, f"{message} (see attngan {command} --help)")

    def main(command_argv):
        if len(command_argv) > 1:
            _refuse(command, f"unexpected arguments {command_argv[1:]}: every input is a --flag")
        if not verbose and not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)
        try:
            return module.main(command_argv)
        except errors.RunFailure as error:
            if verbose:
                traceback.print_exc()
            _refuse(command, error, code=1)
        except INPUT_ERRORS as error:
            if not _raised_by_this_library(error):
                raise
            if verbose:
                traceback.print_exc()
            _refuse(command, error)

    app.run(main, argv=[f"attngan {command}"] + rest, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
