"""The cold-start benchmark's bookkeeping (`workshop/bench/cold_start.py`): what its table rests on.

The benchmark itself runs, end to end, in `notebooks/cold-start.ipynb`'s quick mode (tests/test_notebooks.py).
"""

from workshop.bench import Quiet, Spread, cold_start
from workshop.bench.cold_start import BARE_NAME, BARE_PATH, LIVE, READY, STEP_NAME, Round, Start, Summary

QUIET = Quiet(busy=0.05, waited=0.0, load_average=(0.3, 0.2, 0.1), reference_ms=60.0)


def a_round(step_live: float, bare: float) -> Round:
    step = Start(seconds={LIVE: step_live, READY: step_live + 0.01}, cpu_seconds=step_live * 0.9)
    return Round(
        starts={STEP_NAME: step, BARE_NAME: Start(seconds={BARE_PATH: bare}, cpu_seconds=bare)},
        quiet={STEP_NAME: QUIET, BARE_NAME: QUIET},
    )


def test_each_ratio_is_taken_within_its_round() -> None:
    # A slow moment slows both apps of its round: the ratio of the round stays, the ratio of the
    # medians would not.
    summary = Summary(rounds=[a_round(2.0, 1.0), a_round(4.0, 2.0), a_round(2.4, 1.2)])

    assert summary.ratio(STEP_NAME, LIVE) == Spread(median=2.0, low=2.0, high=2.0)
    assert summary.seconds(BARE_NAME, BARE_PATH).median == 1.2


def test_the_table_says_whether_the_goal_is_met() -> None:
    slow = cold_start.summary_table(Summary(rounds=[a_round(2.0, 1.0)]))
    fast = cold_start.summary_table(Summary(rounds=[a_round(1.4, 1.0)]))

    assert "| step 10, `GET /health/live` | 2.00 s | 2.00 | 1.80 s | 1.80 | ≤ 1.5: not met |" in slow
    assert "≤ 1.5: met |" in fast
    assert "`GET /health/ready` | 2.01 s" in slow


def test_import_times_reads_python_s_own_report() -> None:
    times = cold_start.import_times(cold_start.BARE_APP_DIRECTORY)

    [app] = [entry for entry in times if entry.module == "app.main"]
    assert app.cumulative_ms >= app.self_ms > 0
    packages = cold_start.by_package(times)
    assert "fastapi" in packages
    spent = [ms for ms, _ in packages.values()]
    assert spent == sorted(spent, reverse=True)
