"""The attention-guided GAN on built-in `symbols`: the default experiment.

    attngan train --config configs/symbols_attn.py --workdir runs/symbols_attn
    attngan train --config configs/symbols_attn.py:smoke --workdir /tmp/smoke

The mask is D's Grad-CAM map, not its learned attention head: on `symbols` the
learned head's masks hardly differ between images and G
learns nothing from them, while G reads Grad-CAM masks. The MI term's weight is
balanced against the adversarial loss (`train.mi_weighting`, the default), the
masks are sharpened (`model.mask_temperature = 0.5`) and the MI term reads 16 of
the 64 samples of each batch (`train.mi_pairs`): with the balanced weight and
sharpened masks, a quarter of the batch gives the same sample quality and mask
usage as the whole batch at a markedly cheaper step. The first mask is drawn from
a prior of blobs (`model.first_mask = "blobs"`), not D's attention on a first
image of G: G then reads the mask with samples as good as the plain GAN's
(`symbols_baseline`), where the seed's first mask cost FID, and a served image
needs one G pass. `--config.model.first_mask=recurrence` gives the seed's form.
The networks compute in bfloat16 where the hardware has it (`train.dtype_policy =
"auto"`), in float32 elsewhere: the samples and mask usage hold, and the step is
faster; emulated bfloat16 would be many times slower.
The measurements are in benchmarks/README.md, *Quality study* and *Speed*.
"""

from keras_attngan.training.config import default_config, smoke


def get_config(arg=None):
    config = default_config()
    config.model.mask_source = "gradcam"
    config.model.mask_temperature = 0.5
    config.train.mi_pairs = 16
    config.model.first_mask = "blobs"
    config.train.dtype_policy = "auto"
    return smoke(config) if arg == "smoke" else config
