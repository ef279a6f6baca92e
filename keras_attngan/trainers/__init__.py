"""One trainer class per mode: `base.GAN` (plain), `attention.AttnGAN`, `super_resolution.SuperResolutionGAN`."""
