"""The public data shipped with the project and the order it is loaded in."""

from __future__ import annotations

from pathlib import Path

#: The bundled public data shipped as package data. In a checkout ``bundled_data`` is a
#: symlink to the project's ``data/`` folder; a wheel (and so any non-editable install or
#: the image) holds the files themselves, so the data is found from any directory.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "bundled_data"

#: Load order: lower-priority sources first so the log reads naturally; the dataset
#: priority in the repository makes the result the same in any order.
BUNDLED_FILES: tuple[str, ...] = (
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-BoCongAn.xlsx",
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-BoTaiChinh.xlsx",
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-BoTuPhap.xlsx",
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-BoXayDung.xlsx",
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-NganhangNhanuocVietNam.xlsx",
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-NongNghiepvaMoiTruong.xlsx",
    "dvcqg_bo_nganh_tthc/raw_lists/danh-sach-tthc-ToaAnNhanDan.xlsx",
    "dvcqg_opengov_crawl/catalog.jsonl.gz",
    "dvcqg_bo_nganh_tthc/tthc_records.jsonl.gz",
    "dvcqg_opengov_crawl/details.jsonl.gz",
    "moh_dvc_faq/faq_pairs.jsonl.gz",
    "hotlines/hotlines.csv",
    "seeds/000_18ac861e3429d323.txt",
    "seeds/001_b4bf8d82e268aa69.txt",
    "seeds/002_ea4846b3744c1f6a.txt",
    "seeds/003_b2065d14729f10f5.txt",
    "seeds/004_5cc6c30e6988dc7d.txt",
)


def bundled_paths(data_dir: Path = DEFAULT_DATA_DIR) -> list[Path]:
    """The bundled files in load order (missing files raise ``FileNotFoundError``)."""
    paths = [data_dir / name for name in BUNDLED_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError("bundled data missing: " + ", ".join(missing))
    return paths
