"""The framework engine: indicators as data, measures as unit-level rows, one aggregator."""
