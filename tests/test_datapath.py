"""Data files named by a graph: confined to the graph's folder, regular files only, bounded.

Each case is tried through the API (datasets.load with the graph's folder) and through the
command line (one `error:` line on stderr, exit 2), in process.
"""
from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest

from graphcore.cli import main as cli_main
from graphcore.train import datapath, datasets
from graphcore.train.datapath import DataPolicy, DatasetError

EX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "examples")
XOR_CSV = "a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"


def graph_naming(folder, path, **extra) -> str:
    """The shipped xor net saved in `folder`, its training data set to the CSV file `path`."""
    doc = json.load(open(os.path.join(EX, "xor_mlp.json")))
    doc["meta"]["training"]["dataset"] = {"name": "csv", "path": path, **extra}
    doc["meta"]["training"]["epochs"] = 1
    p = os.path.join(folder, "g.json")
    with open(p, "w") as f:
        json.dump(doc, f)
    return p


def cli_error(capsys, argv) -> str:
    try:
        code = cli_main(argv)
    except SystemExit as exc:  # argparse refused a flag's value
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.fixture
def secret(tmp_path):
    """A CSV outside the graph's folder (tmp/graph/ holds the graph, tmp/secret.csv the data)."""
    (tmp_path / "secret.csv").write_text("password,token,label\n1,2,0\n3,4,1\n")
    (tmp_path / "graph").mkdir()
    return tmp_path


# ---------------------------------------------------------------- where
@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_path_out_of_the_graphs_folder_is_refused(secret, capsys, how):
    folder = secret / "graph"
    value = {"absolute": str(secret / "secret.csv"), "dotdot": "../secret.csv", "symlink": "link.csv"}[how]
    if how == "symlink":
        os.symlink(secret / "secret.csv", folder / "link.csv")
    why = {"absolute": "is an absolute path", "dotdot": "leads out of the graph file's folder",
           "symlink": "through a symbolic link"}[how]
    with pytest.raises(DatasetError, match=why):
        datasets.load({"name": "csv", "path": value}, base_dir=str(folder))
    g = graph_naming(str(folder), value)
    for cmd in ("train", "sanity"):
        err = cli_error(capsys, [cmd, g])
        # a long absolute path (xdist's tmp folders) is quoted as an excerpt, never whole
        assert err.startswith(f"error: {g}: meta.training.dataset: path {datapath.quote(value)} ") and why in err
        assert "--data PATH" in err and "password" not in err  # never the file's header


def test_data_flag_uses_a_file_anywhere_and_out_keeps_the_files_own_path(secret, capsys):
    folder = secret / "graph"
    (secret / "xor.csv").write_text(XOR_CSV)
    g = graph_naming(str(folder), "../secret.csv")
    out = str(folder / "o.json")
    assert cli_main(["train", g, "--quiet", "--data", str(secret / "xor.csv"), "--out", out]) == 0
    assert json.load(open(out))["meta"]["training"]["dataset"]["path"] == "../secret.csv"


def test_data_flag_must_name_a_regular_file(tmp_path, capsys):
    g = graph_naming(str(tmp_path), "d.csv")
    assert "argument --data: " in cli_error(capsys, ["train", g, "--data", str(tmp_path / "none.csv")])
    err = cli_error(capsys, ["train", g, "--data", str(tmp_path)])
    assert err == f"error: argument --data: {tmp_path} is a folder, not a regular file"


def test_paths_inside_the_folder_are_fine_including_subfolders_and_inner_links(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text(XOR_CSV)
    os.symlink(tmp_path / "sub" / "d.csv", tmp_path / "alias.csv")
    for value in ("sub/d.csv", "./sub/../sub/d.csv", "alias.csv"):
        assert datasets.load({"name": "csv", "path": value}, base_dir=str(tmp_path)).y.tolist() == [0, 1, 1, 0]


def test_a_confirmed_path_is_allowed_and_only_that_one(secret):
    folder = str(secret / "graph")
    (secret / "other.csv").write_text(XOR_CSV)
    policy = DataPolicy().allowing(str(secret / "secret.csv"))
    assert len(datasets.load({"name": "csv", "path": "../secret.csv"}, base_dir=folder, policy=policy)) == 2
    with pytest.raises(DatasetError, match="leads out"):
        datasets.load({"name": "csv", "path": "../other.csv"}, base_dir=folder, policy=policy)
    with pytest.raises(DatasetError, match="leads out"):  # a policy is an argument: none given, none applies
        datasets.load({"name": "csv", "path": "../secret.csv"}, base_dir=folder)


def test_a_scripts_own_path_without_a_graph_folder_is_taken_as_given(secret):
    assert len(datasets.load({"name": "csv", "path": str(secret / "secret.csv")})) == 2


def test_the_environment_never_widens_the_policy(secret, monkeypatch):
    """The policy once travelled in this variable; a value left in the environment allows nothing."""
    allowing = json.dumps({"max_bytes": 1 << 30, "max_points": 10, "max_classes": 10,
                           "allow": [str(secret / "secret.csv")]})
    monkeypatch.setenv("BACKPROP_STUDIO_DATA_POLICY", allowing)
    with pytest.raises(DatasetError, match="leads out"):
        datasets.load({"name": "csv", "path": "../secret.csv"}, base_dir=str(secret / "graph"))


# ---------------------------------------------------------------- what
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_before_any_read(tmp_path, capsys):
    with pytest.raises(DatasetError, match="/dev/zero: is a character device, not a regular file"):
        datasets.load({"name": "csv", "path": "/dev/zero"})
    allowed = DataPolicy().allowing("/dev/zero")  # even when the user named it
    with pytest.raises(DatasetError, match="/dev/zero: is a character device"):
        datasets.load({"name": "csv", "path": "/dev/zero"}, base_dir=str(tmp_path), policy=allowed)
    os.symlink("/dev/zero", tmp_path / "zero.csv")  # a link out of the folder, to a device
    g = graph_naming(str(tmp_path), "zero.csv")
    assert "through a symbolic link" in cli_error(capsys, ["train", g])
    err = cli_error(capsys, ["train", g, "--data", "/dev/zero"])
    assert err == "error: argument --data: /dev/zero is a character device, not a regular file"


def test_a_fifo_a_folder_and_a_socket_are_refused_without_blocking(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.csv")  # no writer: opening it for reading would block forever
    (tmp_path / "dir.csv").mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.csv"))
    try:
        for name, kind in (("pipe.csv", "a FIFO"), ("dir.csv", "a folder"), ("s.csv", "a socket")):
            with pytest.raises(DatasetError, match=f"{name}: is {kind}"):
                datasets.load({"name": "csv", "path": name}, base_dir=str(tmp_path))
        g = graph_naming(str(tmp_path), "pipe.csv")
        assert "pipe.csv: is a FIFO (named pipe), not a regular file" in cli_error(capsys, ["sanity", g])
    finally:
        sock.close()


def test_an_oversized_file_is_refused_by_its_size(tmp_path, capsys):
    with open(tmp_path / "big.csv", "w") as f:
        f.write(XOR_CSV + "0,0,0\n" * 2000)  # 12 KB
    small = DataPolicy(max_bytes=4096)
    with pytest.raises(DatasetError, match=r"big.csv: the file is 11.8 KB, larger than the data limit of 4 KB"):
        datasets.load({"name": "csv", "path": "big.csv"}, base_dir=str(tmp_path), policy=small)
    g = graph_naming(str(tmp_path), "big.csv")
    err = cli_error(capsys, ["train", g, "--data-limit", "4K"])
    assert "larger than the data limit of 4 KB (raise it with --data-limit)" in err
    assert "must be a size" in cli_error(capsys, ["train", g, "--data-limit", "lots"])


def test_a_file_that_grows_while_read_stops_at_the_limit(tmp_path, monkeypatch):
    p = tmp_path / "grow.csv"
    p.write_text(XOR_CSV)
    real_read = os.read

    def growing_read(fd, n):  # a writer appends behind the reader's back, forever
        with open(p, "a") as f:
            f.write("0,0,0\n" * 200)
        return real_read(fd, n)

    monkeypatch.setattr(datapath, "_read", growing_read)
    with pytest.raises(DatasetError, match="it grew while it was read"):
        datapath.read_bytes(str(p), policy=DataPolicy(max_bytes=2048))
    assert p.stat().st_size < 64 * 1024  # the reader gave up after a few chunks


def test_too_many_rows_and_a_dense_npz_are_refused(tmp_path):
    (tmp_path / "rows.csv").write_text("0,0\n" * 50)
    with pytest.raises(DatasetError, match=r"more than 10 rows .*--max-points"):
        datasets.load_csv(str(tmp_path / "rows.csv"), policy=DataPolicy(max_points=10))
    p = str(tmp_path / "bomb.npz")  # 80 MB of zeros compress to a few KB
    np.savez_compressed(p, X=np.zeros((10_000_000, 1)), y=np.zeros(10_000_000, np.int64))
    assert os.path.getsize(p) < 1 << 20
    with pytest.raises(DatasetError, match=r"array 'X' holds 10,000,000 values, over the data limit of 1 MB"):
        datasets.load_npz(p, policy=DataPolicy(max_bytes=1 << 20))


def test_a_csv_is_read_only_as_far_as_its_row_limit(tmp_path, monkeypatch):
    """Streamed, not decoded whole: a 252 MB CSV over the row limit once peaked at 1.4 GB before
    it was refused; now the reading stops at the first row past the limit."""
    p = tmp_path / "rows.csv"
    p.write_bytes(b"a,b,label\n" + b"1,2,0\n" * 600_000)  # 3.6 MB
    real_read, read = os.read, []

    def counting_read(fd, n):
        chunk = real_read(fd, n)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(datapath, "_read", counting_read)
    with pytest.raises(DatasetError, match=r"more than 10 rows .*--max-points"):
        datasets.load_csv(str(p), policy=DataPolicy(max_points=10))
    assert sum(read) <= 1 << 20, sum(read)  # the first 1 MB chunk, not the file


def test_a_streamed_csv_decodes_across_its_chunks(tmp_path):
    """A character split between two 1 MB reads, a BOM, a last line without a newline, and the
    byte number of a bad byte far into the file."""
    head = b"\xef\xbb\xbfa,b,label\n"
    n = ((1 << 20) - len(head) - 200) // 6
    rows = b"1,2,a\n" * n  # just under 1 MB
    pad = (1 << 20) - 2 - len(head) - len(rows) - len(b"1,2,")  # the emoji's bytes 3-4 in the second read
    long_label = "x" * pad + "\U0001F600"
    (tmp_path / "e.csv").write_bytes(head + rows + b"1,2," + long_label.encode() + b"\n3,4,y")
    ds = datasets.load_csv(str(tmp_path / "e.csv"), label="label", classes=["a", long_label, "y"])
    assert len(ds) == n + 2 and ds.y[-2] == 1 and ds.y[-1] == 2 and ds.X[-1].tolist() == [3.0, 4.0]
    assert ds.label_lines[-1] == n + 3
    bad = b"a,b,label\n" + rows + b"1,2,\xff\n"
    (tmp_path / "b.csv").write_bytes(bad)
    with pytest.raises(DatasetError, match=rf"b.csv: not a UTF-8 text file \(byte {len(bad) - 1} is not text\)"):
        datasets.load_csv(str(tmp_path / "b.csv"))


# ---------------------------------------------------------------- labels
def test_a_huge_label_is_an_error_naming_line_and_column(tmp_path, capsys):
    g = graph_naming(str(tmp_path), "d.csv", label="label")
    (tmp_path / "d.csv").write_text("a,b,label\n0,0,0\n0,1,1e12\n1,0,1\n")
    with pytest.raises(DatasetError, match=r"d.csv: line 3, column 'label': label '1e12' is too large; class "
                                           r"labels must be below 10,000"):
        datasets.load({"name": "csv", "path": "d.csv"}, base_dir=str(tmp_path))
    for cmd in ("train", "sanity", "search"):
        err = cli_error(capsys, [cmd, g] + (["--workers", "1"] if cmd == "search" else []))
        assert "d.csv: line 3, column 'label': label '1e12' is too large" in err
    (tmp_path / "d.csv").write_text("a,b,label\n0,0,0\n0,1,1e300\n")  # beyond int64 as well
    with pytest.raises(DatasetError, match="line 3.*'1e300' is too large"):
        datasets.load_csv(str(tmp_path / "d.csv"))
    assert "below 5 " in str(pytest.raises(DatasetError, datasets.load_csv, str(tmp_path / "d.csv"),
                                           policy=DataPolicy(max_classes=5)).value)


def test_regression_targets_are_not_class_labels(tmp_path):
    (tmp_path / "r.csv").write_text("x,t\n0,1e12\n1,2.5\n")
    with pytest.raises(DatasetError, match="line 2, column 't': label '1e12' is too large"):
        datasets.load_csv(str(tmp_path / "r.csv"))  # classes unless the task says regression
    ds = datasets.load_csv(str(tmp_path / "r.csv"), task="regression")
    assert ds.task == "regression" and ds.y[:, 0].tolist() == [1e12, 2.5]
    (tmp_path / "r.csv").write_text("x,t\n0,1e12\n1,3\n")
    assert datasets.load_csv(str(tmp_path / "r.csv"), task="regression").y[0, 0] == 1e12


def test_text_labels_from_a_declared_class_list(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,kind\n0,0,dog\n0,1,cat\n1,0,bird\n")
    spec = {"name": "csv", "path": "t.csv", "classes": ["dog", "cat", "bird", "fish"]}
    ds = datasets.load(spec, base_dir=str(tmp_path))
    assert ds.y.tolist() == [0, 1, 2] and ds.classes == ["dog", "cat", "bird", "fish"] and ds.n_classes == 4
    with pytest.raises(DatasetError, match=r"t.csv: line 4, column 'kind': label 'bird' is not one of the "
                                           r"declared classes \('dog', 'cat'\)"):
        datasets.load({**spec, "classes": ["dog", "cat"]}, base_dir=str(tmp_path))
    with pytest.raises(DatasetError, match=r"classes: 'dog' is listed twice"):
        datasets.load({**spec, "classes": ["dog", "dog"]}, base_dir=str(tmp_path))
    (tmp_path / "n.csv").write_text("a,label\n0,0\n1,3\n")
    with pytest.raises(DatasetError, match=r"n.csv: line 3, column 'label': label '3' is too large; the declared "
                                           r"classes are 0..1"):
        datasets.load_csv(str(tmp_path / "n.csv"), classes=["no", "yes"])


def test_undeclared_text_labels_are_bounded(tmp_path):
    (tmp_path / "t.csv").write_text("a,label\n" + "".join(f"{i},c{i}\n" for i in range(6)))
    with pytest.raises(DatasetError, match=r'line 2, column .label.: label .c0. is text; .* "classes": '
                                           r'\["c0", "c1", "c2", \.\.\.\]'):
        datasets.load_csv(str(tmp_path / "t.csv"), policy=DataPolicy(max_classes=5))
    with pytest.raises(DatasetError, match=r"6 classes, over the limit of 5"):
        datasets.load_csv(str(tmp_path / "t.csv"), classes=[f"c{i}" for i in range(6)],
                          policy=DataPolicy(max_classes=5))


def test_errors_never_echo_the_header_or_long_contents(tmp_path, capsys):
    header = ",".join(f"secret_column_{i}_" + "x" * 50 for i in range(20))
    (tmp_path / "d.csv").write_text(header + "\n" + ",".join(["1"] * 19 + ["y" * 500]) + "\n")
    with pytest.raises(DatasetError) as info:
        datasets.load_csv(str(tmp_path / "d.csv"), label="nope")
    assert "secret_column" not in str(info.value) and "the header has 20 columns" in str(info.value)
    (tmp_path / "d.csv").write_text("secret_a,secret_b,secret_label\n0,0,0\n0,1,1\n1,0," + "y" * 500 + "\n")
    g = graph_naming(str(tmp_path), "d.csv")
    err = cli_error(capsys, ["train", g])
    assert "line 4, column 'secret_label': label 'yyy" in err and "is text, but other labels are numbers" in err
    assert "y" * 100 not in err and "secret_a" not in err and len(err) < 400


# ---------------------------------------------------------------- generators
@pytest.mark.parametrize("spec, message", [
    ({"name": "spiral", "n_per_class": 10 ** 9}, r"n_per_class 1,000,000,000 makes 3,000,000,000 points, above"),
    ({"name": "spiral", "classes": 10 ** 12}, r"classes 1,000,000,000,000 is above the limit of 10,000"),
    ({"name": "blobs", "n_per_class": 1000, "classes": 10, "dim": 10 ** 5}, r"dim 100,000 with 10,000 points "
                                                                           r"needs 7.5 GB, above the data limit"),
    ({"name": "moons", "noise": 1e300}, r"noise 1e\+300 is above its limit of 100"),
    ({"name": "xor", "seed": 2 ** 40}, r"seed 1099511627776 is above 4294967295"),
    ({"name": "linear", "dim": 0}, r"dim must be at least 1"),
])
def test_generator_settings_are_bounded(spec, message, capsys, tmp_path):
    with pytest.raises(DatasetError, match=message):
        datasets.load(spec)
    doc = json.load(open(os.path.join(EX, "xor_mlp.json")))
    doc["meta"]["training"]["dataset"] = spec
    (tmp_path / "g.json").write_text(json.dumps(doc))
    err = cli_error(capsys, ["train", str(tmp_path / "g.json")])
    assert "meta.training.dataset: " in err and len(err) < 300


def test_the_user_raises_a_generator_bound(tmp_path):
    spec = {"name": "spiral", "n_per_class": 400, "classes": 3}
    with pytest.raises(DatasetError, match="--max-points"):
        datasets.load(spec, policy=DataPolicy(max_points=1000))
    assert len(datasets.load(spec, policy=DataPolicy(max_points=1200))) == 1200


def test_parse_size():
    assert datapath.parse_size("256M") == 256 << 20 and datapath.parse_size("1.5g") == 3 << 29
    assert datapath.parse_size("4096") == 4096 and datapath.parse_size("2GiB") == 2 << 30
    for bad in ("", "-1M", "lots", "0"):
        with pytest.raises(ValueError):
            datapath.parse_size(bad)


def _npz_with_members(path, members):
    """An .npz written by hand: members {name: (header dict, data bytes)}, deflated or stored."""
    import io
    import zipfile

    from numpy.lib import format as npy_format

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, (header, data) in members.items():
            buf = io.BytesIO()
            npy_format.write_array_header_1_0(buf, header)
            zf.writestr(name + ".npy", buf.getvalue() + data)


def test_an_npz_header_that_lies_about_its_shape_is_refused_before_allocating(tmp_path):
    p = tmp_path / "lie.npz"
    X = np.zeros((60, 2))
    y = np.zeros(60, dtype=np.int64)
    _npz_with_members(p, {"X": ({"descr": "<f8", "fortran_order": False, "shape": (100_000_000_000, 2)}, X.tobytes()),
                          "y": ({"descr": "<i8", "fortran_order": False, "shape": (60,)}, y.tobytes())})
    huge = DataPolicy(max_bytes=10 << 40)  # --data-limit 10T: the limit alone lets it through
    with pytest.raises(DatasetError, match=r"lie.npz: array 'X': its header says shape \(100000000000, 2\) of float64 "
                                           r"\(1,600,000,000,000 bytes\), but the member holds 960 bytes"):
        datasets.load_npz(str(p), policy=huge)
    _npz_with_members(p, {"X": ({"descr": "<f8", "fortran_order": False, "shape": (60, 2)}, X.tobytes()),
                          "y": ({"descr": "<i8", "fortran_order": False, "shape": (60,)}, y.tobytes())})
    assert datasets.load_npz(str(p), policy=huge).X.shape == (60, 2)  # an honest header loads


def test_an_npz_lying_header_through_train_is_one_line(tmp_path, capsys):
    p = tmp_path / "lie.npz"
    _npz_with_members(p, {"X": ({"descr": "<f8", "fortran_order": False, "shape": (100_000_000_000, 2)},
                                np.zeros((60, 2)).tobytes()),
                          "y": ({"descr": "<i8", "fortran_order": False, "shape": (60,)},
                                np.zeros(60, dtype=np.int64).tobytes())})
    g = graph_naming(str(tmp_path), "lie.npz", name="npz")
    assert cli_main(["train", g, "--data-limit", "10T"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "its header says shape (100000000000, 2)" in err[0], err
