"""safe_url masks the password of every host, a multi-host broker URL included."""

from hub.cli.common import safe_url


def test_single_urls_lose_their_password():
    assert safe_url("postgresql://hub:s3cret@db:5432/govhub") == "postgresql://hub:***@db:5432/govhub"
    assert safe_url("amqp://guest:s3cret@mq:5672//") == "amqp://guest:***@mq:5672//"
    assert safe_url("amqp://mq//") == "amqp://mq//"


def test_every_host_of_a_multi_host_broker_url_is_masked():
    url = "amqp://hub:pw-one@10.0.0.1:5672//;amqp://hub:pw-two@10.0.0.2:5672//;amqp://ops:pw-three@10.0.0.3:5673/gov"
    shown = safe_url(url)
    assert not any(pw in shown for pw in ("pw-one", "pw-two", "pw-three")), shown
    assert shown == "amqp://hub:***@10.0.0.1:5672//;amqp://hub:***@10.0.0.2:5672//;amqp://ops:***@10.0.0.3:5673/gov"
