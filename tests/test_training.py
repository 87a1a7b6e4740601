"""The numpy training engine: gradients, rules, hardware effects, data, the `train` command."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import cimcost
from cimcost.config import load_config
from cimcost.errors import InputError
from cimcost.training import (
    Dataset,
    DeviceArray,
    Hardware,
    Options,
    Trainer,
    load_dataset,
    load_mnist_like,
    mvm,
    quantize_range,
    quantize_tensor,
    resolve_rule,
    train,
)
from cimcost.training.data import synthetic_classification, synthetic_regression

from .conftest import ROOT, run_cli

DIGITS_NET = ROOT / "examples" / "mlp-digits.yaml"
RULES = ("bp", "fa", "dfa", "sdfa", "drtp", "elm")


def _has_sklearn() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


needs_digits = pytest.mark.skipif(not _has_sklearn(), reason="digits come from scikit-learn "
                                  "(pip install 'cimcost[experiments]')")


@pytest.fixture(scope="module")
def digits() -> Dataset:
    if not _has_sklearn():
        pytest.skip("scikit-learn not installed")
    return load_dataset("digits")


@pytest.fixture(scope="module")
def chip() -> Hardware:
    return Hardware.from_config(load_config())


def _f64(**kw: object) -> Options:
    return Options(dtype="float64", **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ gradients


@pytest.mark.parametrize("acts,targets", [
    (["tanh", "sigmoid", "softmax"], "labels"),
    (["relu", "tanh", "sigmoid"], "labels"),
    (["sigmoid", "identity"], "regression"),
])
def test_bp_gradient_matches_finite_differences(acts: list[str], targets: str) -> None:
    rng = np.random.default_rng(1)
    sizes = [5, 7, 6, 4][: len(acts) + 1]
    sizes[-1] = 4
    t = Trainer(sizes, acts, "bp", Hardware.ideal(), _f64(seed=3))
    for layer in t.layers:   # move relu pre-activations away from the kink
        layer.w += 0.1
    x = rng.normal(size=(6, sizes[0]))
    y = rng.integers(0, 4, 6) if targets == "labels" else rng.normal(size=(6, 4))
    grads = t.gradients(x, y)
    eps = 1e-6
    for i, g in enumerate(grads):
        assert g is not None
        dw, db = g
        for param, analytic in ((t.layers[i].w, dw), (t.biases[i], db)):
            numeric = np.zeros_like(param)
            for idx in np.ndindex(param.shape):
                old = param[idx]
                param[idx] = old + eps
                up = t.loss(x, y)
                param[idx] = old - eps
                down = t.loss(x, y)
                param[idx] = old
                numeric[idx] = (up - down) / (2 * eps)
            np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_dfa_with_transposed_weights_equals_bp_on_one_hidden_layer() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    bp = Trainer([6, 5, 3], ["tanh", "softmax"], "bp", Hardware.ideal(), _f64(seed=7))
    dfa = Trainer([6, 5, 3], ["tanh", "softmax"], "dfa", Hardware.ideal(), _f64(seed=7))
    np.testing.assert_array_equal(bp.weights[0], dfa.weights[0])
    dfa.feedback[0] = dfa.weights[1].T.copy()       # B_1 = W_2^T: the identity DFA == BP
    for gb, gd in zip(bp.gradients(x, y), dfa.gradients(x, y)):
        assert gb is not None and gd is not None
        np.testing.assert_allclose(gb[0], gd[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gb[1], gd[1], rtol=1e-12, atol=1e-14)
    # and a random B does not (the test is not vacuous)
    other = Trainer([6, 5, 3], ["tanh", "softmax"], "dfa", Hardware.ideal(), _f64(seed=7))
    g0 = other.gradients(x, y)[0]
    gbp = bp.gradients(x, y)[0]
    assert g0 is not None and gbp is not None and not np.allclose(g0[0], gbp[0])


# ------------------------------------------------------------------ quantisation and devices


@pytest.mark.parametrize("bits", [1, 2, 3, 5])
def test_quantisers_give_at_most_2_to_the_k_levels(bits: int) -> None:
    rng = np.random.default_rng(bits)
    x = rng.normal(size=(200, 50))
    assert len(np.unique(quantize_range(x, bits, x.min(), x.max()))) <= 2 ** bits
    assert len(np.unique(quantize_tensor(x, bits))) <= 2 ** bits
    assert len(np.unique(quantize_tensor(np.abs(x), bits))) <= 2 ** bits
    w = rng.normal(size=(50, 20))
    # one chunk (rows >= inputs): the ADC output itself has at most 2^k levels
    assert len(np.unique(mvm(x, w, 64, bits))) <= 2 ** bits
    # several chunks: each partial sum is quantised, so the sum has at most (2^k)^chunks levels
    # per column, and is close to the exact product at high resolution
    exact = x @ w
    fine = mvm(x, w, 16, 12)
    assert np.max(np.abs(fine - exact)) < 1e-2 * np.max(np.abs(exact))


def test_adc_quantises_each_subarray_chunk() -> None:
    x = np.ones((1, 4))
    w = np.array([[1.0], [1.0], [1.0], [0.0]])
    # chunks of 2 rows: partial sums 2 and 1 (one sample, one column: range collapses to itself)
    assert mvm(x, w, 2, 1)[0, 0] == pytest.approx(3.0)
    xs = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    # chunk 1 sums {1, 2, 0} -> 1 bit over [0, 2] -> {0 or 2}: 1 rounds to 2 (half-to-even: 0)
    out = mvm(xs, w, 2, 1)[:, 0]
    chunk1 = quantize_range(np.array([1.0, 2.0, 0.0]), 1, 0.0, 2.0)
    chunk2 = quantize_range(np.array([1.0, 1.0, 0.0]), 1, 0.0, 1.0)
    np.testing.assert_allclose(out, chunk1 + chunk2)
    # a chunk whose sums are all equal (e.g. all-zero inputs) maps to that value, not NaN
    zeros = mvm(np.zeros((3, 300), np.float32), np.ones((300, 2), np.float32), 128, 3)
    np.testing.assert_array_equal(zeros, 0.0)


def test_device_weights_stay_on_their_levels() -> None:
    rng = np.random.default_rng(0)
    hw = Hardware(weight_levels=8)
    dev = DeviceArray(rng.uniform(-0.5, 0.5, (30, 30)), 0.5, hw, rng)
    assert len(np.unique(np.round(dev.w, 9))) <= 8
    for _ in range(20):
        dev.apply(rng.normal(scale=0.3, size=dev.w.shape))
    assert len(np.unique(np.round(dev.w, 9))) <= 8
    assert dev.w.max() <= 1.0 + 1e-12 and dev.w.min() >= -1.0 - 1e-12


def test_nonlinear_updates_are_state_dependent_and_asymmetric() -> None:
    rng = np.random.default_rng(0)
    hw = Hardware(weight_levels=101, nonlinearity_ltp=1.0, nonlinearity_ltd=1.0,
                  stochastic_rounding=False)
    w0 = np.array([[-0.8, 0.8]])                 # near G_min and near G_max (range ±1)
    up = DeviceArray(w0, 0.5, hw, rng)
    step = float(up.pulse_size())
    before = up.w.copy()
    up.apply(np.full_like(w0, step))             # one SET pulse each
    set_low, set_high = (up.w - before)[0]
    assert set_low > 2 * step and 0 < set_high < 0.5 * step   # big near G_min, small near G_max
    down = DeviceArray(w0, 0.5, hw, rng)
    before = down.w.copy()
    down.apply(np.full_like(w0, -step))          # one RESET pulse each
    reset_low, reset_high = (before - down.w)[0]
    assert reset_high > reset_low > 0
    assert set_low != pytest.approx(reset_high)  # SET and RESET differ: asymmetric
    linear = DeviceArray(w0, 0.5, replace(hw, nonlinearity_ltp=0.0, nonlinearity_ltd=0.0), rng)
    before = linear.w.copy()
    linear.apply(np.full_like(w0, step))
    np.testing.assert_allclose(linear.w - before, step)


def _small_task() -> Dataset:
    return synthetic_classification(n_train=600, n_test=200, features=32, informative=16,
                                    classes=4, clusters_per_class=2, class_sep=2.0, seed=1)


def test_zero_sigma_is_bit_identical_to_no_noise(chip: Hardware) -> None:
    data = _small_task()

    def run(hw: Hardware) -> tuple[list[float | None], list[np.ndarray]]:
        t = Trainer([32, 24, 4], ["relu", "softmax"], "dfa", hw, Options(batch_size=50, seed=2))
        hist = t.fit(data, 2)
        return [h.test_accuracy for h in hist], t.weights

    base = replace(chip, c2c_sigma=0.0, d2d_sigma=0.0)
    acc0, w0 = run(base)
    acc1, w1 = run(replace(base, c2c_sigma=0.0, d2d_sigma=0.0, nonlinearity_ltp=0.0))
    assert acc0 == acc1
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(a, b)
    _, w2 = run(replace(base, c2c_sigma=0.01))
    assert not np.array_equal(w0[0], w2[0])
    # a memory file that defines sigma = 0 gives the same effects as one without the field
    enode = Hardware.from_config(load_config(memory="enode"))
    assert enode.c2c_sigma == 0.0 and enode.nonlinearity_ltp == 0.0


def test_a_seed_gives_identical_curves(chip: Hardware) -> None:
    data = _small_task()
    hw = replace(chip, c2c_sigma=0.02, d2d_sigma=0.05)
    runs = [train([32, 24, 4], data, "bp", hw, Options(epochs=2, batch_size=50, seed=s))
            for s in (5, 5, 6)]
    assert [h.to_dict() for h in runs[0].history] == [h.to_dict() for h in runs[1].history]
    assert [h.to_dict() for h in runs[0].history] != [h.to_dict() for h in runs[2].history]


# ------------------------------------------------------------------ rules


def test_trained_layers_come_from_the_rule_declarations() -> None:
    assert resolve_rule("bp", 3) == ("bp", [True, True, True])
    assert resolve_rule("dfa", 3) == ("dfa", [True, True, True])
    assert resolve_rule("elm", 3) == ("elm", [False, False, True])
    assert resolve_rule("noprop", 2) == ("elm", [False, True])
    with pytest.raises(InputError):
        resolve_rule("inference", 3)
    with pytest.raises(InputError):
        resolve_rule("nonsense", 3)


@needs_digits
@pytest.mark.parametrize("rule", RULES)
def test_each_rule_learns_digits_on_the_default_chip(rule: str, digits: Dataset, chip: Hardware) -> None:
    result = train([64, 64, 64, 10], digits, rule, chip, Options(epochs=3, batch_size=32, seed=0))
    assert result.final_test_accuracy is not None
    assert result.final_test_accuracy > 0.4, [h.test_accuracy for h in result.history]


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_learns_the_synthetic_classification_task(rule: str) -> None:
    data = _small_task()
    result = train([32, 48, 48, 4], data, rule, Hardware.ideal(), Options(epochs=4, batch_size=25))
    assert result.final_test_accuracy is not None and result.final_test_accuracy > 0.5


def test_regression_task_loss_falls() -> None:
    data = synthetic_regression(n_train=1000, n_test=200, seed=0)
    net = cimcost.Network("reg", 256, [cimcost.Layer("fc1", 256, 32, "tanh", ("input",)),
                                       cimcost.Layer("fc2", 32, 10, "tanh", ("fc1",))])
    result = train(net, data, "sdfa", Hardware.ideal(), Options(epochs=5, batch_size=25))
    assert result.history[0].test_accuracy is None
    assert result.history[-1].test_loss < 0.8 * result.history[0].test_loss


# ------------------------------------------------------------------ data


def _write_idx(path: Path, arr: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    raw = header + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_and_npz_loaders(tmp_path: Path, gz: bool) -> None:
    rng = np.random.default_rng(0)
    xtr, xte = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (5, 28, 28))
    ytr, yte = rng.integers(0, 10, 20), rng.integers(0, 10, 5)
    for name, arr in (("train-images-idx3-ubyte", xtr), ("train-labels-idx1-ubyte", ytr),
                      ("t10k-images-idx3-ubyte", xte), ("t10k-labels-idx1-ubyte", yte)):
        _write_idx(tmp_path / name, arr, gz)
    data = load_mnist_like(tmp_path, "fashion-mnist")
    assert data.x_train.shape == (20, 784) and data.features == 784
    np.testing.assert_allclose(data.x_train * 255, xtr.reshape(20, -1))
    np.testing.assert_array_equal(data.y_test, yte)
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    same = load_dataset("mnist", str(npz))
    np.testing.assert_allclose(same.x_test, data.x_test)


def test_missing_mnist_files_never_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMCOST_DATA", str(tmp_path))
    monkeypatch.setattr("cimcost.training.data.SEARCH_DIRS", ())
    with pytest.raises(InputError, match="never downloads"):
        load_dataset("fashion-mnist")


def test_unknown_dataset_and_size_mismatch_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("imagenet")
    with pytest.raises(InputError, match="64 features"):
        train([784, 32, 10], Dataset("digits", "classification", np.zeros((4, 64)),
                                     np.arange(4) % 10, np.zeros((2, 64)), np.arange(2)), "bp")


# ------------------------------------------------------------------ the command


@needs_digits
def test_cli_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "train", str(DIGITS_NET), "--rule", "bp", "--epochs", "2",
                             "--limit", "300", "--set", "adc.bits=3", "--set",
                             "memory.c2c_sigma=0.02", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["history"]) == 2
    assert set(data["history"][0]) >= {"epoch", "train_accuracy", "test_accuracy"}
    assert data["final_test_accuracy"] == data["history"][-1]["test_accuracy"]
    assert data["training"]["hardware"]["adc_bits"] == 3
    assert data["training"]["hardware"]["transposed_adc_bits"] == 3   # follows adc.bits unless set
    assert data["training"]["hardware"]["c2c_sigma"] == 0.02
    expected = cimcost.estimate(str(DIGITS_NET), "bp",
                                set={"adc.bits": 3, "training.batch_size": 32}).to_dict()
    assert data["estimate"] == json.loads(json.dumps(expected))


@needs_digits
def test_cli_text_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "curve.png"
    code, out, err = run_cli(capsys, "train", "--mlp", "64,32,10", "--rule", "elm", "--epochs", "1",
                             "--limit", "200", "--c2c-sigma", "0.01", "--plot", str(png))
    assert code == 0, err
    assert "test acc" in out and "cost of this configuration" in out
    assert png.stat().st_size > 0


def test_cli_regression_with_mlp_gets_a_tanh_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "train", "--mlp", "256,16,10", "--rule", "dfa", "--dataset",
                             "synthetic-regression", "--epochs", "1", "--limit", "300", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["final_test_accuracy"] is None and data["final_test_loss"] > 0
    assert data["history"][0]["test_accuracy"] is None


@pytest.mark.parametrize("argv,needle", [
    (["train", str(ROOT / "examples" / "mlp-784-1024x4-10.yaml"), "--rule", "dfa", "--dataset",
      "synthetic-classification"], "fashion-mnist"),
    (["train", "--mlp", "64,10", "--dataset", "no-such-set"], "unknown dataset"),
    (["train", "--mlp", "64,10", "--rule", "inference"], "cannot be trained"),
    (["train", "--mlp", "64,10", "--epochs", "0"], "--epochs"),
    (["train", "--mlp", "256,10", "--dataset", "synthetic-regression", "--output-activation",
      "softmax"], "real-valued targets"),
])
def test_cli_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert needle in err and "Traceback" not in err


@needs_digits
def test_cli_digits_mismatch_suggests_the_digits_network(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "train", str(ROOT / "examples" / "mlp-784-1024x4-10.yaml"),
                           "--rule", "dfa", "--dataset", "digits")
    assert code == 2
    assert "mlp-digits.yaml" in err and "fashion-mnist" in err
