"""``sixbtc data import`` and ``sixbtc data show`` on a temporary cache."""

from __future__ import annotations

from sixbtc.entrypoints import cli

GOOD = "time,open,high,low,close,volume\n" + "".join(
    f"2024-01-01T00:{m:02d}:00Z,1,2,0.5,1.5,10\n" for m in (0, 5, 10, 25)
)


def test_import_then_show_lists_coins_ranges_and_gaps(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIXBTC_MARKET_DATA__CACHE_DIR", str(tmp_path / "cache"))
    good = tmp_path / "SOL-5m.csv"
    good.write_text(GOOD)
    bad = tmp_path / "XRP-5m.csv"
    bad.write_text(GOOD.replace("0.5,1.5", "0.5,oops", 1))
    assert cli.main(["data", "import", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "SOL from" in out and "gap: 1 (kept)" in out and "2 bars missing" in out
    assert f"file {bad} line 2: close is 'oops'; expected a number" in err
    assert cli.main(["data", "show"]) == 0
    out, _ = capsys.readouterr()
    assert "1 coins" in out and "XRP" not in out
    assert "SOL                 4  2024-01-01T00:00:00Z  2024-01-01T00:25:00Z  1 (2)" in out
