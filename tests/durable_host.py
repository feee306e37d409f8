"""A durable_rules host for tests that drive durable_rules directly."""

from durable import engine as durable_engine


class QuietHost(durable_engine.Host):
    """The stock host without its background dispatch threads: the tests take matches from the queue themselves."""

    def _run(self):
        pass
