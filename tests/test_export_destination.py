"""Issue 20 (Why 8): `socinf export` into an existing file gave a FileExistsError traceback, and into the dir of a
live `socinf serve` silently replaced its membership_split.json. Real `socinf export` and `socinf serve` runs."""
from __future__ import annotations

from socinf_runner import socinf, start_server

EXPORT = ["serve.model=logistic", "dataset.per_class=100", "eval.size=20", "threads=1"]


def test_export_refuses_a_file_and_a_live_serve_dir_and_replaces_its_own(tmp_path, shared_data_dir):
    (tmp_path / "model.bin").write_text("not a dir")
    proc = socinf(["export", str(tmp_path / "model.bin"), *EXPORT], tmp_path, shared_data_dir)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (f"socinf: error: socinf export {tmp_path / 'model.bin'}: is an "
                                                    "existing file; expected a new or empty directory, or one an "
                                                    "earlier export wrote")
    server = start_server(tmp_path / "serving", [*EXPORT, f"data.root={tmp_path / 'data'}"], shared_data_dir)
    try:
        split = (server.dir / "membership_split.json").read_bytes()
        proc = socinf(["export", str(server.dir), *EXPORT, "seed=1", f"data.root={tmp_path / 'data'}"], tmp_path,
                      shared_data_dir)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "holds the run dir of `socinf serve` or `socinf run`" in proc.stderr.strip().splitlines()[-1]
        assert (server.dir / "membership_split.json").read_bytes() == split  # the live server's truth is kept
        assert server.stats()["predict_requests"] == 0 and server.process.poll() is None
    finally:
        server.stop()
    out = tmp_path / "exported"
    for seed in ("0", "1"):  # a second export replaces the first one's files, and only those
        proc = socinf(["export", str(out), *EXPORT, f"seed={seed}", f"data.root={tmp_path / 'data'}"], tmp_path,
                      shared_data_dir)
        assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["membership_split.json", "model-settings.json", "model.joblib",
                                                     "target_report.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".export")]  # no staging dir left
