"""Datasets, user-file import errors, splits, preprocessing, batches, augmentation."""
import numpy as np
import pytest

from graphcore.train import datasets, preprocess
from graphcore.train.datasets import DatasetError


def test_spiral_is_exactly_the_cs231n_one():
    ds = datasets.spiral(n_per_class=100, classes=3, seed=7)
    # the notes' code, run with the same global seed
    np.random.seed(7)
    N, D, K = 100, 2, 3
    X = np.zeros((N * K, D))
    y = np.zeros(N * K, dtype="uint8")
    for j in range(K):
        ix = range(N * j, N * (j + 1))
        r = np.linspace(0.0, 1, N)
        t = np.linspace(j * 4, (j + 1) * 4, N) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.y.dtype == np.int64 and ds.n_classes == 3 and len(ds) == 300


@pytest.mark.parametrize("name", list(datasets.GENERATORS))
def test_generators_are_seeded(name):
    a = datasets.load({"name": name, "seed": 3} if name != "digits" else {"name": name})
    b = datasets.load({"name": name, "seed": 3} if name != "digits" else {"name": name})
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert np.isfinite(a.X).all() and len(a) == len(a.y)
    if name in datasets.REGRESSION:
        assert a.task == "regression" and a.y.shape == (len(a), 1)
    else:
        assert a.task == "classification" and a.y.dtype == np.int64
    if name != "digits":
        c = datasets.load({"name": name, "seed": 4})
        assert not np.array_equal(a.X, c.X)


def test_sizes_and_noise_settings():
    assert len(datasets.load({"name": "moons", "n": 51})) == 51
    assert len(datasets.load({"name": "blobs", "n_per_class": 7, "classes": 4})) == 28
    clean = datasets.xor(n=4, noise=0.0)
    np.testing.assert_array_equal(clean.X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(clean.y, [0, 1, 1, 0])
    c = datasets.circle(n=100, noise=0.0, factor=0.3)
    r = np.hypot(c.X[:, 0], c.X[:, 1])
    np.testing.assert_allclose(r[c.y == 0], 1.0)
    np.testing.assert_allclose(r[c.y == 1], 0.3)


def test_digits_from_the_shipped_npz():
    ds = datasets.digits()
    assert ds.X.shape == (1797, 1, 8, 8) and ds.y.shape == (1797,)
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert np.bincount(ds.y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.y[:10].tolist() == list(range(10))  # the UCI file starts 0, 1, 2, ...


def test_unknown_dataset_and_setting():
    with pytest.raises(DatasetError, match="unknown dataset 'mnist'"):
        datasets.load({"name": "mnist"})
    with pytest.raises(DatasetError, match="spiral has no setting 'points'"):
        datasets.load({"name": "spiral", "points": 5})
    with pytest.raises(DatasetError, match="noise must be a non-negative number"):
        datasets.load({"name": "moons", "noise": "lots"})


# ------------------------------------------------------------ CSV / NPZ import
def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_csv_with_header_and_named_label(tmp_path):
    p = write(tmp_path, "label,a,b\n1,0.5,2\n0,1.5,-3\n\n2,1e-3,4\n")
    ds = datasets.load({"name": "csv", "path": "d.csv", "label": "label"}, base_dir=str(tmp_path))
    np.testing.assert_array_equal(ds.X, [[0.5, 2], [1.5, -3], [1e-3, 4]])
    np.testing.assert_array_equal(ds.y, [1, 0, 2])
    assert ds.n_classes == 3


def test_csv_text_labels_need_a_declared_class_list(tmp_path):
    p = write(tmp_path, "1,2,dog\n3,4,cat\n5,6,dog\n")
    with pytest.raises(DatasetError, match=r'd.csv: line 1, column .column 3.: label .dog. is text; text labels need their '
                                           r'classes declared .* "classes": \["cat", "dog"\] \(the order'):
        datasets.load_csv(p)
    ds = datasets.load({"name": "csv", "path": "d.csv", "classes": ["dog", "cat"]}, base_dir=str(tmp_path))
    assert ds.classes == ["dog", "cat"] and ds.y.tolist() == [0, 1, 0]


@pytest.mark.parametrize("text, where", [("1,2\n2,3.5\n", "line 2"), ("1,0.5\n2,1.25\n", "line 1")])
def test_csv_fractional_labels_are_not_classes(tmp_path, text, where):
    """A fractional label is not silently a regression target: the classification loss would fail later."""
    p = write(tmp_path, text)
    with pytest.raises(DatasetError, match=rf"d.csv: {where}, column .column 2.: label '[0-9.]+' is not a whole number; "
                                           r'.*set "task": "regression"'):
        datasets.load_csv(p)
    ds = datasets.load_csv(p, task="regression")
    assert ds.task == "regression" and ds.y.shape == (2, 1)


def test_npz_fractional_labels_are_not_classes(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0.0, 1.0, 2.5]))
    with pytest.raises(DatasetError, match=r"d.npz: 'y' row 3: label 2.5 is not a whole number"):
        datasets.load_npz(str(p))
    assert datasets.load_npz(str(p), task="regression").task == "regression"
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0.0, 1.0, 2.0]))  # whole floats are class numbers
    assert datasets.load_npz(str(p)).y.tolist() == [0, 1, 2]


@pytest.mark.parametrize("text, message", [
    ("a,b,y\n1,2,0\n3,4\n", "d.csv: line 3 has 2 columns, expected 3 (ragged rows)"),
    ("a,b,y\n1,2,0\n3,x4,1\n", "d.csv: line 3, column 'b': 'x4' is not a number"),
    ("a,b,y\n1,2,0\n3,4,\n", "d.csv: line 3: missing label (column 'y')"),
    ("a,b,y\n1,,0\n", "d.csv: line 2, column 'b': missing value"),
    ("", "d.csv: the file has no rows"),
    ("a,b,y\n", "the file has a header but no data rows"),
])
def test_csv_errors_name_file_row_and_column(tmp_path, text, message):
    with pytest.raises(DatasetError) as info:
        datasets.load_csv(write(tmp_path, text))
    assert message in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="nope.csv: cannot read the file"):
        datasets.load({"name": "csv", "path": str(tmp_path / "nope.csv")})


def test_npz_import_and_errors(tmp_path):
    p = str(tmp_path / "d.npz")
    np.savez(p, X=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 1, 0]))
    ds = datasets.load({"name": "npz", "path": p})
    assert ds.X.shape == (4, 3) and ds.y.tolist() == [0, 1, 1, 0]
    np.savez(p, images=np.zeros((2, 8, 8)), labels=np.array([1, 2]))
    assert datasets.load_npz(p).X.shape == (2, 1, 8, 8)
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match="'y' has 2 labels but 'X' has 3 rows"):
        datasets.load_npz(p)
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0.0, np.nan, 1.0]))
    with pytest.raises(DatasetError, match="'y' row 2: missing label"):
        datasets.load_npz(p)
    bad = np.zeros((3, 2))
    bad[2, 1] = np.nan
    np.savez(p, X=bad, y=np.array([0, 1, 1]))
    with pytest.raises(DatasetError, match="'X' row 3, column 2: missing value"):
        datasets.load_npz(p)
    np.savez(p, feats=np.zeros((3, 2)))
    with pytest.raises(DatasetError, match="no features array .*it has: 'feats'"):
        datasets.load_npz(p)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="junk.npz: not a valid .npz"):
        datasets.load_npz(str(tmp_path / "junk.npz"))


# ------------------------------------------------------------ preprocessing
def test_split_is_seeded_stratified_and_disjoint():
    ds = datasets.spiral(n_per_class=50, classes=3)
    a = preprocess.split(ds.X, ds.y, 0.2, np.random.default_rng(0))
    b = preprocess.split(ds.X, ds.y, 0.2, np.random.default_rng(0))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    Xtr, ytr, Xva, yva = a
    assert len(Xtr) == 120 and len(Xva) == 30
    assert np.bincount(yva).tolist() == [10, 10, 10]
    both = np.concatenate([Xtr, Xva])
    order = np.lexsort(both.T)
    np.testing.assert_array_equal(both[order], ds.X[np.lexsort(ds.X.T)])


def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    Xtr = rng.normal(5.0, 3.0, (200, 2))
    Xva = rng.normal(-5.0, 1.0, (50, 2))
    s = preprocess.Standardizer(center=True, standardize=True).fit(Xtr)
    t = s.transform(Xtr)
    np.testing.assert_allclose(t.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(t.std(0), 1, atol=1e-12)
    np.testing.assert_allclose(s.transform(Xva), (Xva - Xtr.mean(0)) / Xtr.std(0))
    img = rng.random((10, 2, 4, 4))
    c = preprocess.Standardizer(center=True, standardize=True, per="channel").fit(img)
    assert c.mean.shape == (1, 2, 1, 1)
    const = np.ones((5, 3))
    np.testing.assert_array_equal(preprocess.Standardizer(True, True).fit(const).transform(const), 0.0)


def test_batches_cover_every_sample_and_reshuffle_each_epoch():
    rng = np.random.default_rng(0)
    e1 = list(preprocess.batch_indices(70, 32, rng))
    e2 = list(preprocess.batch_indices(70, 32, rng))
    assert [len(b) for b in e1] == [32, 32, 6]
    assert sorted(np.concatenate(e1)) == list(range(70))
    assert not np.array_equal(np.concatenate(e1), np.concatenate(e2))
    assert [len(b) for b in preprocess.batch_indices(70, 0, rng)] == [70]


def test_augment_shifts_and_flips():
    x = np.zeros((200, 1, 5, 5))
    x[:, 0, 2, 1] = 1.0  # one lit pixel left of centre
    out = preprocess.augment(x, np.random.default_rng(0), shift=1, flip=False)
    assert out.shape == x.shape and (out.sum(axis=(1, 2, 3)) == 1).all()
    pos = np.argwhere(out[:, 0] == 1)[:, 1:]
    assert set(map(tuple, pos)) == {(r, c) for r in (1, 2, 3) for c in (0, 1, 2)}
    flipped = preprocess.augment(x, np.random.default_rng(0), shift=0, flip=True)
    cols = np.argwhere(flipped[:, 0] == 1)[:, 2]
    assert set(cols) == {1, 3} and 60 < (cols == 3).sum() < 140
    assert x[:, 0, 2, 1].all()  # the input is untouched


@pytest.mark.parametrize("spec, message", [
    ({"name": "csv", "path": "d.csv", "label": [1]}, "label must be a column number or a header name, got [1]"),
    ({"name": "csv", "path": "d.csv", "label": True}, "label must be a column number or a header name"),
    ({"name": "csv", "path": "d.csv", "header": "yes"}, "header must be true, false or left out"),
    ({"name": "csv", "path": "d.csv", "task": "ranking"}, "task must be 'classification' or 'regression'"),
    ({"name": "csv", "path": "d.csv", "classes": "cat"}, "classes: must be a list of class names"),
    ({"name": "npz", "path": "d.csv", "features": 3}, "features must be the name of an array in the file"),
    ({"name": "csv", "path": 7}, "path must be a file name, got 7"),
])
def test_reader_settings_from_a_file_are_checked(tmp_path, spec, message):
    write(tmp_path, "a,b,y\n1,2,0\n")
    with pytest.raises(DatasetError) as info:
        datasets.load(spec, base_dir=str(tmp_path))
    assert message in str(info.value)
