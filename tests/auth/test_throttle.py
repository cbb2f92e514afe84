"""Sign-in throttling that protects without locking staff out (SPEC §15): a spray from
one address is refused, a targeted attack from many addresses only slows the account
and its owner still signs in from a fresh address, parallel guesses never exceed the
limit, and the answers are the same for known and unknown e-mails."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine

from diary import clock

PASSWORD = "correct horse battery"


@pytest.fixture
def from_address(new_client):
    """from_address("10.0.0.7") → a client whose requests come from that address."""

    def make(address):
        client = new_client()
        client.client.environ_base["REMOTE_ADDR"] = address
        return client

    return make


def attempt(client, email, password):
    return client.post("staff/login", {"email": email, "password": password})


def test_a_password_spray_from_one_address_is_refused_for_every_account(
    app, make_staff, from_address, db
):
    limit = app.config["STAFF_FAILURES_PER_ADDRESS"]
    emails = [f"staff{n}@a.test" for n in range(24)]
    for email in emails[:12]:  # half of the guessed e-mails are real accounts
        make_staff(email)
    sprayer = from_address("203.0.113.9")
    with time_machine.travel(clock.now(), tick=False):
        statuses = [attempt(sprayer, email, "Winter2026!").status_code for email in emails * 4]
        assert statuses[:limit] == [401] * limit
        assert set(statuses[limit:]) == {429}
        # Someone else, elsewhere, signs in as usual.
        assert attempt(from_address("198.51.100.4"), emails[0], PASSWORD).status_code == 200
    checked = db.execute(
        "SELECT count(*) FROM signin_attempts WHERE client_key = '203.0.113.9'"
    ).fetchone()[0]
    assert checked == limit  # no password was even checked after the limit


def test_a_targeted_attack_from_many_addresses_slows_the_account_but_its_owner_signs_in(
    app, make_staff, from_address
):
    make_staff("investigator@a.test", "investigator")
    per_account = app.config["STAFF_FAILURES_PER_ACCOUNT"]
    interval = app.config["STAFF_SLOWED_INTERVAL"]
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        answered = []
        for n in range(per_account + 20):
            bot = from_address(f"192.0.2.{n % 200 + 1}")
            answered.append(attempt(bot, "investigator@a.test", f"guess-{n:06d}").status_code)
        assert answered[:per_account] == [401] * per_account
        # Past the account's limit, the botnet gets one guess per interval at most.
        assert set(answered[per_account:]) == {429}
        traveller.move_to(start + interval + timedelta(seconds=1))
        owner = from_address("198.51.100.77")
        assert attempt(owner, "investigator@a.test", PASSWORD).status_code == 200
        # After the owner's success the account is no longer slowed.
        again = from_address("198.51.100.78")
        assert attempt(again, "investigator@a.test", PASSWORD).status_code == 200


def test_twenty_parallel_guesses_never_check_more_than_the_limit(app, make_staff, from_address, db):
    make_staff("admin@a.test", "admin", ())
    limit = app.config["STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS"]
    clients = [from_address("203.0.113.50") for _ in range(20)]
    for c in clients:
        c.csrf()  # fetch tokens first, so the guesses start together
    results = []
    barrier = threading.Barrier(len(clients))

    def guess(client, n):
        barrier.wait()
        results.append(attempt(client, "admin@a.test", f"parallel-{n:04d}").status_code)

    threads = [threading.Thread(target=guess, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted([401] * limit + [429] * (20 - limit))
    checked = db.execute("SELECT count(*) FROM signin_attempts").fetchone()[0]
    assert checked == limit


def test_unknown_and_known_e_mails_get_identical_answers_throttled_or_not(
    app, make_staff, from_address
):
    make_staff("real@a.test")
    limit = app.config["STAFF_FAILURES_PER_ACCOUNT_AT_ADDRESS"]
    answers = {}
    for email, address in (("real@a.test", "203.0.113.1"), ("ghost@a.test", "203.0.113.2")):
        client = from_address(address)
        with time_machine.travel(clock.now(), tick=False):
            seen = [attempt(client, email, "not the password") for _ in range(limit + 1)]
        answers[email] = [(r.status_code, r.get_json(), r.headers.get("Retry-After")) for r in seen]
    assert answers["real@a.test"] == answers["ghost@a.test"]
    assert answers["real@a.test"][-1][0] == 429


def test_a_botnet_that_never_pauses_cannot_take_the_owners_turn_on_a_browser_they_used(
    app, make_staff, from_address, db
):
    make_staff("owner@a.test", "investigator")
    per_account = app.config["STAFF_FAILURES_PER_ACCOUNT"]
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        laptop = from_address("198.51.100.10")
        assert attempt(laptop, "owner@a.test", PASSWORD).status_code == 200
        laptop.post("staff/logout")
        for n in range(per_account):
            attempt(from_address(f"192.0.2.{n + 1}"), "owner@a.test", f"guess-{n:06d}")
        owner_answers, fresh_browser = [], []
        for second in range(1, 121):
            traveller.move_to(start + timedelta(seconds=second))
            # A bot takes every slot the moment it opens...
            attempt(from_address(f"203.0.113.{second % 250 + 1}"), "owner@a.test", "guess")
            if second % 30 == 0:
                # ...the owner, on the laptop they used before, from a new network:
                laptop.client.environ_base["REMOTE_ADDR"] = f"198.51.100.{second}"
                response = attempt(laptop, "owner@a.test", PASSWORD)
                owner_answers.append(response.status_code)
                if response.status_code == 200:
                    laptop.post("staff/logout")
                    # a success ends the slow-down; the bots bring it back at once
                    for n in range(per_account):
                        attempt(from_address(f"192.0.3.{n + 1}"), "owner@a.test", f"g-{n:06d}")
            elif second % 30 == 15:
                stranger = from_address(f"100.64.0.{second}")
                fresh_browser.append(attempt(stranger, "owner@a.test", PASSWORD).status_code)
    assert owner_answers == [200] * 4
    # A browser never used for the account waits like the bots (the account stays slowed
    # for everyone else while the attack goes on).
    assert fresh_browser == [429] * 4


def test_refused_sign_ins_are_in_the_access_log_once_a_minute_per_address(
    app, make_staff, from_address, db
):
    make_staff("sprayed@a.test")
    limit = app.config["STAFF_FAILURES_PER_ADDRESS"]
    with time_machine.travel(clock.now(), tick=False):
        bot = from_address("192.0.2.200")
        for n in range(limit + 10):
            attempt(bot, f"user{n}@a.test", "wrong password here")
    refused = list(
        db.query("SELECT * FROM access_log WHERE event = 'sign_in_failed' AND object = 'throttled'")
    )
    assert len(refused) == 1 and refused[0]["client"] == "192.0.2.200"


def test_a_spray_over_many_addresses_meets_the_global_ceiling_but_not_a_browser_used_before(
    app, make_staff, from_address, db
):
    app.config["STAFF_FAILURES_GLOBAL"] = 12
    window = app.config["STAFF_THROTTLE_WINDOW"]
    make_staff("owner@a.test", "investigator")
    # Half of the guessed e-mails are real accounts, one guess each from its own
    # address: no address and no account comes near its own limit.
    emails = [f"{'staff' if n % 2 else 'ghost'}{n}@a.test" for n in range(24)]
    for email in emails[1::2]:
        make_staff(email)
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        laptop = from_address("198.51.100.10")
        assert attempt(laptop, "owner@a.test", PASSWORD).status_code == 200
        laptop.post("staff/logout")
        answers = [
            attempt(from_address(f"192.0.2.{n + 1}"), email, "Winter2026!")
            for n, email in enumerate(emails)
        ]
        assert [r.status_code for r in answers] == [401] * 12 + [429] * 12
        # Past the ceiling every e-mail, real or not, gets the same refusal.
        refused = {(r.get_data(), r.headers["Retry-After"]) for r in answers[12:]}
        assert refused == {(answers[12].get_data(), str(int(window.total_seconds())))}
        # A browser new to the account waits too, even with the right password...
        assert attempt(from_address("100.64.0.1"), emails[1], PASSWORD).status_code == 429
        # ...but the owner's laptop, from another network, still has its password checked.
        laptop.client.environ_base["REMOTE_ADDR"] = "198.51.100.99"
        assert attempt(laptop, "owner@a.test", "a typo in it").status_code == 401
        assert attempt(laptop, "owner@a.test", PASSWORD).status_code == 200
        traveller.move_to(start + window + timedelta(seconds=1))
        assert attempt(from_address("100.64.0.2"), emails[1], PASSWORD).status_code == 200
    failed = db.execute("SELECT count(*) FROM signin_attempts WHERE outcome = 'failed'").fetchone()
    assert failed[0] == 12 + 1  # no password was checked past the ceiling but the owner's
