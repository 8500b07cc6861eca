import logging

from miniature.progress import Progress


def _lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "miniature.progress"]


def test_a_line_each_time_the_count_passes_a_multiple_of_every_and_at_the_end(caplog):
    caplog.set_level(logging.INFO, logger="miniature.progress")
    progress = Progress("predicted windows", 25, every=10)
    due = [progress.advance(items) for items in (4, 4, 4, 4, 4, 5)]  # passes 10 and 20, then reaches 25
    assert due == [False, False, True, False, True, True]  # a loop learns when a line was logged
    lines = _lines(caplog)
    assert [line.split(" (")[0] for line in lines] == ["predicted windows 12/25", "predicted windows 20/25",
                                                       "predicted windows 25/25"]
    assert all("/s, " in line and "s elapsed, ~" in line and "s left)" in line for line in lines)


def test_a_resumed_loop_counts_from_where_it_resumed_and_a_detail_is_made_only_when_logged(caplog):
    caplog.set_level(logging.INFO, logger="miniature.progress")
    progress = Progress("step", 100, done=40)  # every: a tenth of the total
    made = []

    def detail():
        made.append(progress.done)
        return "loss 1.0000"

    for _ in range(60):
        progress.advance(detail=detail)
    assert made == [50, 60, 70, 80, 90, 100]
    assert _lines(caplog)[0].startswith("step 50/100  loss 1.0000 (")
