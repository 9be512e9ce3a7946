"""harvester: collects "who inspired you" stories for ConnectEDU curators."""

__version__ = "0.1.0"
