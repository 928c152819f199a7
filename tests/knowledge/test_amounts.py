"""Vietnamese amounts: one reader for importers and staff, and a refusal with file:line:field."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from knowledge.amounts import AmountError, parse_amount, staff_vnd
from knowledge.codec import to_json
from knowledge.errors import ImportFileError
from knowledge.importers.reading import read_records
from knowledge.records import ChannelData, FeeData, ProcedureData
from knowledge.tabular import columns, to_cells


@pytest.mark.parametrize(
    "text,value,currency,per",
    [
        ("35.000", 35_000, "VND", ""),
        ("35.000đ", 35_000, "VND", ""),
        ("35.000 đ", 35_000, "VND", ""),
        ("35 nghìn", 35_000, "VND", ""),
        ("35 ngàn đồng", 35_000, "VND", ""),
        ("35k", 35_000, "VND", ""),
        ("1,5 triệu", 1_500_000, "VND", ""),
        ("1.5 triệu đồng", 1_500_000, "VND", ""),
        ("2 tỷ", 2_000_000_000, "VND", ""),
        ("35,000", 35_000, "VND", ""),
        ("2,000,000 VNĐ", 2_000_000, "VND", ""),
        ("15 000", 15_000, "VND", ""),
        ("35.000 đồng/hồ sơ", 35_000, "VND", "hồ sơ"),
        ("20.000đ/tờ khai", 20_000, "VND", "tờ khai"),
        ("70,000 Việt Nam Đồng", 70_000, "VND", ""),
        ("5 USD", 5, "USD", ""),
        ("$5", 5, "USD", ""),
        ("2,5 USD", Decimal("2.5"), "USD", ""),
        ("Miễn phí", 0, "VND", ""),
        ("0", 0, "VND", ""),
        (10_000, 10_000, "VND", ""),
    ],
)
def test_every_written_form(text: object, value: object, currency: str, per: str) -> None:
    amount = parse_amount(text)  # type: ignore[arg-type]
    assert (amount.value, amount.currency, amount.per) == (Decimal(str(value)), currency, per)


@pytest.mark.parametrize(
    "text", ["35,5", "1.5", "1.2.3", "ba mươi nghìn", "-35.000", "", "5 USD đ"]
)
def test_unreadable_amounts_are_refused(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text)


def test_staff_amounts() -> None:
    # A JSON cell typed the Vietnamese way keeps its text thanks to Decimal parsing.
    assert staff_vnd(Decimal("35.000")) == 35_000
    assert staff_vnd("35.000") == 35_000
    assert staff_vnd(None) is None
    with pytest.raises(AmountError, match=r"35\.000"):
        staff_vnd(35)  # "35 đồng" is the thousands lost
    with pytest.raises(AmountError, match="USD"):
        staff_vnd("5 USD")


def _procedure(fee: FeeData) -> ProcedureData:
    return ProcedureData(
        code="9.000001",
        name="Thủ tục thử",
        channels=[ChannelData("truc_tiep", 7.0, "working_day", "7 ngày làm việc", (fee,))],
    )


def _csv_with_amount(tmp_path: Path, raw_amount: str) -> Path:
    """An export sheet as staff edit it: the fee amount typed into the channels JSON cell."""
    data = to_json(_procedure(FeeData("Lệ phí", 1000, "", meaning="amount")))
    cells = to_cells("procedure", data)
    header = columns("procedure")
    index = header.index("channels")
    cells[index] = cells[index].replace('"amount_vnd": 1000', f'"amount_vnd": {raw_amount}')
    path = tmp_path / "procedure.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(cells)
    return path


@pytest.mark.parametrize(
    "typed,stored",
    [("35.000", 35_000), ('"35.000đ"', 35_000), ('"1,5 triệu"', 1_500_000), ("35000", 35_000)],
)
def test_staff_sheet_amounts_are_read_the_vietnamese_way(
    tmp_path: Path, typed: str, stored: int
) -> None:
    (record,) = read_records(_csv_with_amount(tmp_path, typed))
    assert isinstance(record, ProcedureData)
    assert record.channels[0].fees[0].amount_vnd == stored


@pytest.mark.parametrize("typed", ["35", '"35,5"', '"ba mươi"'])
def test_staff_sheet_refuses_an_unreadable_amount(tmp_path: Path, typed: str) -> None:
    path = _csv_with_amount(tmp_path, typed)
    with pytest.raises(ImportFileError) as error:
        read_records(path)
    assert str(error.value).startswith(f"{path}:2:channels[0].fees.amount_vnd: ")


def test_export_jsonl_amount_typed_with_thousands(tmp_path: Path) -> None:
    data = to_json(_procedure(FeeData("Lệ phí", 1000, "", meaning="amount")))
    line = json.dumps({"kind": "procedure", **data}, ensure_ascii=False)
    path = tmp_path / "kb.jsonl"
    path.write_text(line.replace('"amount_vnd": 1000', '"amount_vnd": 35.000') + "\n")
    (record,) = read_records(path)
    assert isinstance(record, ProcedureData)
    assert record.channels[0].fees[0].amount_vnd == 35_000
    path.write_text(line.replace('"amount_vnd": 1000', '"amount_vnd": 35') + "\n")
    with pytest.raises(ImportFileError, match=r"kb.jsonl:1:channels\[0\].fees.amount_vnd: "):
        read_records(path)
