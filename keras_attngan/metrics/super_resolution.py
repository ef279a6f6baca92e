"""Super-resolution quality as SR papers report it: PSNR and SSIM on Y, and sharpness.

The convention of EDSR (Lim et al., 2017), RCAN (Zhang et al., 2018) and
ESRGAN (Wang et al., 2018): images are quantized to uint8, converted to the
luma Y of ITU-R BT.601 YCbCr (MATLAB's ``rgb2ycbcr``, Y in [16, 235]),
`scale` pixels are cropped from every border (where no method sees the
whole neighbourhood), and PSNR uses a peak of 255. SSIM is Wang et al.'s
(2004): an 11x11 Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, over
the valid region. Each is computed per whole image, and tables average the
images, not crops of them.

PSNR and SSIM reward blur: the mean of plausible textures scores above any
one of them (Blau and Michaeli, 2018, "The perception-distortion
tradeoff"). `high_frequency_ratio` measures what they miss: the energy of
the output above the low-res Nyquist frequency over the ground truth's.
Interpolation scores well below 1, invented noise above it, and a method
that restores the lost detail about 1.

NumPy only, so that nothing here imports TensorFlow.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5
_SSIM_K1, _SSIM_K2 = 0.01, 0.03
_PEAK = 255.0


def to_uint8(images):
    """Floats in [-1, 1] -> uint8, as the export serves them (rounded, clipped)."""
    return np.round((np.clip(np.asarray(images, np.float64), -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def luma(images):
    """BT.601 luma of uint8 RGB ``[..., 3]`` as float64 in [16, 235] (MATLAB's ``rgb2ycbcr``)."""
    rgb = np.asarray(images, np.float64) / 255.0
    return 16.0 + rgb @ np.array([65.481, 128.553, 24.966])


def _crop(image, border):
    return image[border : image.shape[0] - border, border : image.shape[1] - border] if border else image


def _check_pair(ours, truth, border):
    ours, truth = np.asarray(ours), np.asarray(truth)
    if ours.shape != truth.shape:
        raise ValueError(f"Images to compare should have one shape. Received: {ours.shape} and {truth.shape}")
    if min(ours.shape[:2]) <= 2 * border + _SSIM_WINDOW - 1:
        raise ValueError(
            f"Images should be larger than the border crop (2 x {border}) and SSIM's "
            f"{_SSIM_WINDOW}-pixel window. Received: {ours.shape[:2]}"
        )
    return ours, truth


def psnr(ours, truth, peak=_PEAK):
    """PSNR (dB) of two float arrays of one shape; inf when they are equal."""
    mse = np.mean((np.asarray(ours, np.float64) - np.asarray(truth, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def _gaussian_valid(image):
    """Separable 11x11 Gaussian filter (sigma 1.5) of ``[H, W, ...]``, valid region only."""
    offsets = np.arange(_SSIM_WINDOW) - (_SSIM_WINDOW - 1) / 2
    weights = np.exp(-(offsets**2) / (2 * _SSIM_SIGMA**2))
    weights /= weights.sum()
    rows = sliding_window_view(image, _SSIM_WINDOW, axis=0) @ weights
    return sliding_window_view(rows, _SSIM_WINDOW, axis=1) @ weights


def ssim(ours, truth, peak=_PEAK):
    """Mean SSIM (Wang et al., 2004) of two ``[H, W]`` or ``[H, W, C]`` float arrays (channels averaged)."""
    x, y = np.asarray(ours, np.float64), np.asarray(truth, np.float64)
    c1, c2 = (_SSIM_K1 * peak) ** 2, (_SSIM_K2 * peak) ** 2
    mu_x, mu_y = _gaussian_valid(x), _gaussian_valid(y)
    var_x = _gaussian_valid(x * x) - mu_x**2
    var_y = _gaussian_valid(y * y) - mu_y**2
    cov = _gaussian_valid(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(np.mean(index))


def high_frequency_energy(image, scale):
    """Spectral energy of a ``[H, W]`` image above the low-res Nyquist frequency ``1 / (2 scale)``.

    The mean is removed and a Hann window applied first, so that the image's
    borders (a jump for the periodic FFT) add no energy of their own.
    """
    image = np.asarray(image, np.float64)
    image = image - image.mean()
    window = np.outer(np.hanning(image.shape[0]), np.hanning(image.shape[1]))
    power = np.abs(np.fft.fft2(image * window)) ** 2
    fy = np.abs(np.fft.fftfreq(image.shape[0]))[:, None]
    fx = np.abs(np.fft.fftfreq(image.shape[1]))[None, :]
    beyond = np.maximum(fy, fx) > 0.5 / scale
    return float(power[beyond].sum())


def compare(ours, truth, scale):
    """The SR metrics of one image against its ground truth.

    Args:
        ours: the super-resolved image, uint8 ``[H, W, 3]``.
        truth: the ground truth, uint8 ``[H, W, 3]``.
        scale: the factor, which is also the border cropped (pixels).

    Returns:
        ``{"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb", "hf_ratio"}``: PSNR
        (dB) and SSIM on Y and on RGB, `scale` pixels cropped from each
        border, and the high-frequency energy ratio of `ours` to `truth` on Y.
    """
    ours, truth = _check_pair(ours, truth, scale)
    ours, truth = _crop(ours, scale), _crop(truth, scale)
    y_ours, y_truth = luma(ours), luma(truth)
    rgb_ours, rgb_truth = ours.astype(np.float64), truth.astype(np.float64)
    return {
        "psnr_y": psnr(y_ours, y_truth),
        "ssim_y": ssim(y_ours, y_truth),
        "psnr_rgb": psnr(rgb_ours, rgb_truth),
        "ssim_rgb": ssim(rgb_ours, rgb_truth),
        "hf_ratio": high_frequency_energy(y_ours, scale) / high_frequency_energy(y_truth, scale),
    }
