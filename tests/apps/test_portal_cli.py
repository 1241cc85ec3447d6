"""`chitieu users add` and `chitieu users token`: the secret alone on the last line, stored only hashed."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from apps.cli import app


def test_users_add_and_token_print_the_secret_last_and_store_only_hashes(env, engine):
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "--email", "ke.toan@chilang.example", "--role", "unit",
                                "--unit", "XA_CHILANG"])
    assert added.exit_code == 0, added.output
    password = added.output.strip().splitlines()[-1]
    assert len(password) >= 16 and " " not in password
    token = runner.invoke(app, ["users", "token", "--email", "ke.toan@chilang.example"])
    assert token.exit_code == 0, token.output
    secret = token.output.strip().splitlines()[-1]
    assert secret.startswith("ct_")

    from apps.portal.accounts import token_account, verify_password

    assert verify_password(engine, "KE.TOAN@chilang.example", password).unit_code == "XA_CHILANG"
    assert verify_password(engine, "ke.toan@chilang.example", password + "x") is None
    assert token_account(engine, secret).email == "ke.toan@chilang.example"
    assert token_account(engine, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "select a.password_hash, t.token_hash from portal.account a join portal.api_token t using (account_id)"
        )).one()
    assert password not in str(stored) and secret.split("_", 2)[2] not in str(stored)
    assert stored.password_hash.startswith("$argon2id$") and stored.token_hash.startswith("$argon2id$")

    for bad in (["--role", "unit"], ["--role", "unit", "--unit", "NOWHERE"], ["--role", "boss"],
                ["--role", "province", "--unit", "XA_CHILANG"]):
        refused = runner.invoke(app, ["users", "add", "--email", "x@example.org", *bad])
        assert refused.exit_code == 1 and refused.output.startswith("chitieu: "), bad
    again = runner.invoke(app, ["users", "add", "--email", "Ke.Toan@chilang.example", "--role", "province"])
    assert again.exit_code == 1 and "exists" in again.output
    assert runner.invoke(app, ["users", "token", "--email", "nobody@example.org"]).exit_code == 1
