"""Alert mail: one after N failed runs in a row, one on recovery, none in between."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import scheduler
from harvester.alerts import FAILING, RECOVERED, check_alerts, decide_alert
from store.models import Alert, Curator
from tests.conftest import make_app
from tests.fixtures.smtp import free_port


@pytest.mark.parametrize(
    ("failures", "last_kind", "expected"),
    [
        (0, None, None),
        (2, None, None),
        (3, None, FAILING),
        (4, None, FAILING),
        (3, RECOVERED, FAILING),
        (5, FAILING, None),
        (0, FAILING, RECOVERED),
        (1, FAILING, None),
        (0, RECOVERED, None),
    ],
)
def test_decide_alert(failures, last_kind, expected):
    assert decide_alert(failures, 3, last_kind) == expected


@pytest.fixture
def inbox_app(tmp_path, sqlite_url, smtp_server):
    """An app whose eml source fails until its folder exists, with alerts after 3 failures."""
    alerts = {
        "after_failures": 3,
        "recipients": ["curators@example.org"],
        "smtp": smtp_server.settings(),
    }
    app = make_app(
        sqlite_url,
        {"inbox": {"type": "eml", "path": "mail"}},
        base_dir=tmp_path,
        alerts=alerts,
    )
    scheduler.use_app(app)
    yield app
    scheduler.use_app(None)
    app.close()


def test_one_mail_after_failures_and_one_on_recovery(inbox_app, smtp_server, tmp_path):
    for _ in range(2):
        scheduler.run_source("inbox")
    assert smtp_server.received() == []

    scheduler.run_source("inbox")
    mails = smtp_server.received()
    assert len(mails) == 1
    assert mails[0].recipients == ["curators@example.org"]
    assert mails[0].message["Subject"] == "harvester: source inbox is failing"
    body = mails[0].message.get_content()
    assert "failed 3 times in a row" in body
    assert f"{tmp_path / 'mail'} not found" in body

    for _ in range(3):
        scheduler.run_source("inbox")
    assert len(smtp_server.received()) == 1

    (tmp_path / "mail").mkdir()
    scheduler.run_source("inbox")
    mails = smtp_server.received()
    assert len(mails) == 2
    assert mails[1].message["Subject"] == "harvester: source inbox works again"

    scheduler.run_source("inbox")
    assert len(smtp_server.received()) == 2
    with inbox_app.db.read() as session:
        kinds = list(session.scalars(select(Alert.kind).order_by(Alert.id)))
    assert kinds == [FAILING, RECOVERED]


def test_failing_again_after_recovery_mails_again(inbox_app, smtp_server, tmp_path):
    for _ in range(3):
        scheduler.run_source("inbox")
    (tmp_path / "mail").mkdir()
    scheduler.run_source("inbox")
    (tmp_path / "mail").rmdir()
    for _ in range(3):
        scheduler.run_source("inbox")

    subjects = [mail.message["Subject"] for mail in smtp_server.received()]
    assert subjects == [
        "harvester: source inbox is failing",
        "harvester: source inbox works again",
        "harvester: source inbox is failing",
    ]


def test_mail_goes_to_curators_without_recipients(tmp_path, sqlite_url, smtp_server):
    alerts = {"after_failures": 1, "smtp": smtp_server.settings()}
    app = make_app(
        sqlite_url,
        {"inbox": {"type": "eml", "path": "mail"}},
        base_dir=tmp_path,
        alerts=alerts,
    )
    with app.db.write() as session:
        session.add(Curator(email="b@example.org", password_hash="x", active=True))
        session.add(Curator(email="a@example.org", password_hash="x", active=True))
        session.add(Curator(email="gone@example.org", password_hash="x", active=False))
    scheduler.use_app(app)
    try:
        scheduler.run_source("inbox")
    finally:
        scheduler.use_app(None)
        app.close()

    mails = smtp_server.received()
    assert len(mails) == 1
    assert mails[0].recipients == ["a@example.org", "b@example.org"]


def test_unreachable_smtp_retries_after_next_run(tmp_path, sqlite_url, smtp_server):
    closed = {"host": "127.0.0.1", "port": free_port(), "timeout": 5}
    alerts = {
        "after_failures": 1,
        "recipients": ["curators@example.org"],
        "smtp": closed,
    }
    app = make_app(
        sqlite_url,
        {"inbox": {"type": "eml", "path": "mail"}},
        base_dir=tmp_path,
        alerts=alerts,
    )
    scheduler.use_app(app)
    try:
        scheduler.run_source("inbox")
        with app.db.read() as session:
            assert session.scalars(select(Alert)).all() == []

        app.config.alerts.smtp = app.config.alerts.smtp.model_copy(
            update=smtp_server.settings()
        )
        scheduler.run_source("inbox")
    finally:
        scheduler.use_app(None)
        app.close()

    assert len(smtp_server.received()) == 1


def test_no_smtp_settings_records_alert_once(tmp_path, sqlite_url, caplog):
    app = make_app(
        sqlite_url,
        {"inbox": {"type": "eml", "path": "mail"}},
        base_dir=tmp_path,
        alerts={"after_failures": 2},
    )
    for _ in range(4):
        from harvester.pipeline import harvest

        harvest(app, "inbox")
        check_alerts(app, "inbox")

    with app.db.read() as session:
        alerts = session.scalars(select(Alert)).all()
        assert [alert.kind for alert in alerts] == [FAILING]
        assert "alerts.smtp" in (alerts[0].detail or "")
    warnings = [
        record
        for record in caplog.records
        if "no alert mail was sent" in record.getMessage()
    ]
    assert len(warnings) == 1
    app.close()
