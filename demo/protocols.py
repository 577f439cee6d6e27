"""The protocol part of ``govhub demo``: the sandbox peers are started on local ports
and the hub talks to each the way a real deployment would — a department pushes by REST
and by SOAP (WSDL read by zeep), another drops GBK CSV files on an SFTP server, the item
catalogue is pulled from the provincial platform over SOAP, cases are reported upward to
it, and dispatches to a department that is down for a while arrive once it is back.

Credentials are made for this run only (hashes in a demo catalogue under GOVHUB_HOME,
plaintext in this process's environment); nothing secret is in the repository.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import time
from collections import Counter

import click
import requests
import yaml

from adapters.registry import open_adapter
from hub.catalog.authn import hash_password, sha256_hex
from hub.catalog.systems import SYSTEMS_FILE, _systems_at
from hub.ingest.drop import poll_drop
from hub.outbound import reporting
from hub.outbound.delivery import Deliverer
from sandbox import dept_rest, province_soap
from sandbox.server import run_in_thread
from sandbox.sftp_server import start_sftp_server
from synth.generator import Generator, write_dept_b_csv

CS = "常熟市行政审批局"
ZJG = "张家港市住房和城乡建设局"


def _department(name: str) -> tuple[str, str]:
    return next((code, region) for n, code, region in Generator(seed=0).departments if n == name)


def _catalogue(home, ports: dict, secrets_: dict, sftp_fingerprint: str) -> str:
    data = yaml.safe_load(SYSTEMS_FILE.read_text(encoding="utf-8"))
    by_id = {s["id"]: s for s in data["systems"]}
    cs_code, _ = _department(CS)
    zjg_code, _ = _department(ZJG)
    by_id["cs-approval"].update(
        dept_code=cs_code,
        may_push=["case"],
        report_to=["cs-health"],
        credentials={
            "api_key_sha256": sha256_hex(secrets_["cs_key"]),
            "username": "cs-approval",
            "password_pbkdf2": hash_password(secrets_["cs_pw"], iterations=20_000),
        },
    )
    by_id["zjg-housing"].update(
        dept_code=zjg_code,
        may_push=["case"],
        endpoint=f"sftp://hub@127.0.0.1:{ports['sftp']}/outbox?password_env=GOVHUB_DEMO_SFTP_PW"
        f"&host_key={sftp_fingerprint}&pattern=*.csv&stable_seconds=0",
    )
    by_id["js-province"].update(
        may_pull=["case"],
        endpoint=f"soap://127.0.0.1:{ports['province']}/exchange?username=govhub&password_env=GOVHUB_DEMO_PROV_PW"
        f"&pull=GetItemCatalogue&pull.region_code=3205",
    )
    data["systems"].append(
        {
            "id": "cs-health",
            "name": "常熟市卫生健康委员会业务系统",
            "level": "department",
            "region_code": "320581",
            "endpoint": f"rest://127.0.0.1:{ports['dept']}/api?push_path=/case&api_key_env=GOVHUB_DEMO_DEPT_KEY&retries=0",
        }
    )
    path = home / "systems.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


def run(settings, engine, pipeline, say) -> dict:
    # the sandbox SFTP server logs every client disconnect; not news in a demo
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    home = settings.home
    s = {
        "cs_key": secrets.token_urlsafe(18),
        "cs_pw": secrets.token_urlsafe(12),
        "prov_pw": secrets.token_urlsafe(12),
        "dept_key": secrets.token_urlsafe(18),
        "sftp_pw": secrets.token_urlsafe(12),
    }
    os.environ.update(
        {
            "GOVHUB_DEMO_PROV_PW": s["prov_pw"],
            "GOVHUB_DEMO_DEPT_KEY": s["dept_key"],
            "GOVHUB_DEMO_SFTP_PW": s["sftp_pw"],
        }
    )
    province = province_soap.ProvinceState(username="govhub", password=s["prov_pw"])
    dept = dept_rest.DeptState()
    (home / "sftp" / "outbox").mkdir(parents=True, exist_ok=True)
    sftp = start_sftp_server(home / "sftp", "hub", s["sftp_pw"])
    prov_url, stop_prov = run_in_thread(province_soap.make_app(province))
    dept_url, stop_dept = run_in_thread(dept_rest.make_app(dept, api_key=s["dept_key"]))
    ports = {"province": prov_url.rsplit(":", 1)[1], "dept": dept_url.rsplit(":", 1)[1], "sftp": sftp.port}
    os.environ["GOVHUB_CATALOG"] = _catalogue(home, ports, s, sftp.fingerprint)
    _systems_at.cache_clear()
    from hub.api.app import create_app

    hub_url, stop_hub = run_in_thread(create_app(settings, migrate_db=False))
    out: dict = {}
    try:
        say(
            "6.",
            f"the peers run on local ports: hub API {hub_url}, province SOAP {prov_url}, "
            f"department REST {dept_url}, SFTP 127.0.0.1:{sftp.port}",
        )

        # the province's item catalogue, pulled over SOAP (WSDL read by zeep)
        with open_adapter(_endpoint("js-province")) as prov:
            summaries = [
                pipeline.ingest(io.BytesIO(e.body), "js-province", fmt="xml", message_id=e.message_id)
                for e in prov.read()
            ]
        click.echo(
            f"   SOAP pull  GetItemCatalogue from the province: {sum(x.received for x in summaries)} items → "
            f"{sum(x.counts['stored'] for x in summaries)} stored"
        )

        cs_cases = [r for r, _ in Generator(seed=7, departments=[CS]).records("case", 200, defect_rate=0.05)]
        r = requests.post(
            f"{hub_url}/api/v1/case",
            headers={"X-Api-Key": s["cs_key"], "X-Message-Id": "cs-rest-0001", "Content-Type": "application/json"},
            data=json.dumps({"records": cs_cases[:100]}, ensure_ascii=False).encode(),
            timeout=60,
        )
        body = r.json()
        click.echo(
            f"   REST push  cs-approval POST /api/v1/case: HTTP {r.status_code}, {body['stored']} stored, "
            f"{body['quarantined']} quarantined (reasons per record in the answer)"
        )
        other = [rec for rec, _ in Generator(seed=8, departments=[ZJG]).records("case", 1)]
        r = requests.post(
            f"{hub_url}/api/v1/case",
            headers={"X-Api-Key": s["cs_key"], "Content-Type": "application/json"},
            data=json.dumps({"records": cs_cases[100:102] + other}, ensure_ascii=False).encode(),
            timeout=60,
        )
        body = r.json()
        click.echo(
            f"   REST push  with one case of another department: HTTP {r.status_code}, {body['stored']} stored, "
            f"{body['quarantined']} quarantined ({', '.join(sorted({x['reason'] for x in body['records'] if x['reason']}))})"
        )
        r = requests.post(
            f"{hub_url}/api/v1/case",
            headers={"X-Api-Key": "not-the-key", "Content-Type": "application/json"},
            data=b'{"records": []}',
            timeout=30,
        )
        click.echo(f"   REST push  with a wrong API key: HTTP {r.status_code} {r.json()['error']}")

        from zeep import Client
        from zeep.wsse.username import UsernameToken

        client = Client(f"{hub_url}/soap/push?wsdl", wsse=UsernameToken("cs-approval", s["cs_pw"]))
        # zeep checks the XSD on the client side, so the defects sent here are ones only the hub's rules find
        soap_cases = [
            r
            for r, _ in Generator(seed=9, departments=[CS]).records(
                "case", 100, defect_rate=0.05, defects=["id_check_char", "time_order", "promise_exceeds_legal"]
            )
        ]
        result = _zeep_push(client, soap_cases)
        click.echo(
            f"   SOAP push  cs-approval PushCases (zeep, WS-Security): {result.stored} stored, "
            f"{result.quarantined} quarantined"
        )

        # zjg-housing drops two GBK CSV files on its SFTP server; the hub polls them
        for i in range(2):
            rows = (rec for rec, _ in Generator(seed=20 + i, departments=[ZJG]).records("case", 150, defect_rate=0.05))
            with open(home / "sftp" / "outbox" / f"zjg-{i + 1:04d}.csv", "wb") as f:
                write_dept_b_csv(rows, f, on_unmapped="keep")
        with open_adapter(_endpoint("zjg-housing")) as drop:
            c = poll_drop(drop, "zjg-housing", pipeline)
        done = sorted(p.name for p in (home / "sftp" / "outbox" / "done").iterdir())
        click.echo(
            f"   SFTP drop  zjg-housing: {c['files']} GBK CSV files → {c['stored']} stored, "
            f"{c['quarantined']} quarantined; moved to done/: {', '.join(done)}"
        )

        # upward reporting to the province (SOAP ReportCases), by watermark
        queued, delivered = 0, Counter()
        while True:  # one run queues at most 5,000; the DAG would pick up the rest on its next run
            rep = reporting.run(engine, "js-province", "case")
            queued += rep.queued
            delivered.update(rep.delivered or {})
            if not rep.queued:
                break
        click.echo(
            f"   report     {queued:,} changed cases of 苏州 queued for the province, delivered: "
            f"{dict(delivered)}; the province holds {len(set(province.case_numbers())):,}"
        )

        # dispatch to a department that is down for a while
        dept.mode = "down"
        d = Deliverer(engine, base_backoff=0.05, max_backoff=0.2, breaker_threshold=1000)
        first = d.run_once("cs-health")
        dept.mode = "up"
        later: Counter = Counter()
        for _ in range(50):
            time.sleep(0.06)
            later.update(d.run_once("cs-health"))
            if not later.get("retry") and later:
                break
        d.close()
        got = dept.case_numbers()
        click.echo(
            f"   dispatch   to cs-health while it was down: {dict(first)}; once back: {dict(later)}; "
            f"it holds {len(got)} cases, {len(got) - len(set(got))} twice"
        )
        out = {"province_cases": len(set(province.case_numbers())), "dispatched": len(got)}
    finally:
        stop_hub()
        stop_prov()
        stop_dept()
        sftp.stop()
    return out


def _endpoint(system_id: str) -> str:
    from hub.catalog.systems import get_system

    return get_system(system_id).endpoint


def _zeep_push(client, cases: list[dict]):
    """PushCases with zeep: the canonical records as the WSDL's typed structures."""

    def entry(rec: dict) -> dict:
        out = {k: v for k, v in rec.items() if not isinstance(v, list)}
        for name, item in (("steps", "step"), ("special_procedures", "procedure"), ("materials", "material")):
            if rec.get(name):
                out[name] = {item: rec[name]}
        return out

    return client.service.PushCases(message_id="cs-soap-0001", case=[entry(r) for r in cases])
