from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from douyin_pay import runtime
from local.aws_resources import provision
from local.douyin_sim import DouyinSimulator, SimulatorConfig
from local.moto_atomic import make_dynamodb_atomic
from tests.bundle.harness import APP_ID, OLD_TOKEN, SALT, TOKEN, AwsCalls, Bundle, environment


@pytest.fixture
def sim():
    # speed=0: the simulated clock moves only when a test advances it. Callbacks are not pushed
    # here (drop="all"): these tests deliver notices to the handler themselves.
    config = SimulatorConfig(
        APP_ID, SALT, TOKEN, speed=0, drop="all", refund_processing_seconds=None, settle_processing_seconds=None
    )
    with DouyinSimulator(config) as simulator:
        yield simulator


@pytest.fixture
def bundle(sim, monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    make_dynamodb_atomic()
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        resources = provision(session, prefix="test", salt=SALT, tokens=[TOKEN, OLD_TOKEN])
        for key, value in environment(resources, sim.base_url).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("RECONCILE_MIN_INTERVAL_MS", "0")
        runtime.reset()
        calls = AwsCalls()
        for service in ("dynamodb", "sqs"):
            events = runtime.aws_client(service).meta.events
            events.register("before-call", calls.hook)
            events.register("before-parameter-build", calls.params_hook)
        bundle = Bundle(resources, sim, calls, session)
        monkeypatch.setattr(runtime, "now", bundle.clock)
        yield bundle
        runtime.reset()
