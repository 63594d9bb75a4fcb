"""``python -m local.bench [--quick] [--out bench-results/bench.json]``: the bundle's performance figures.

1. **Cold import** of every handler module, each in fresh ``python -c`` children, beside a floor
   measured in the same run (``import boto3`` + one DynamoDB client), and whether ``requests`` got
   imported.
1b. **Cold start as deployed**: import and the first invocation's set-up, with the layer as
   ``sam build`` makes it, paired with the floor, with peak RSS and (under valgrind) instruction
   counts, by which its goals are judged.
2. **AWS calls per operation**, counted with a botocore ``before-call`` hook on the handlers' own
   clients, running the real handlers in-process on moto + the Douyin simulator as the bundle tests
   do. Every path is warmed once first, so the one-off secret fetch is not in the figures. Each
   kind of callback notice new and repeated (a repeat where the notice was taken, and in another
   environment, where the goal of one call and one write unit is judged). With
   them, the capacity units each call bills (``local/capacity.py``), and one whole lifecycle
   (``lifecycle``) beside the floor and the Powertools baseline (``baseline_lifecycle``), and the
   lifecycle's write-unit goal.
3. **Handler latency** (p50 / p99) on the embedded local stack, invoking the functions directly.
4. **Callback burst**: K orders × M duplicate notices from T threads, each its own execution
   environment, with a correctness check (exactly one transition per order) — non-zero exit if it fails.
5. **The common way** on the same notices: Powertools ``@idempotent_function`` + a separate
   conditional update (``local/bench/baseline.py``), and our ÷ baseline ratios.

Everything runs on loopback and stops what it started, also on error. Prints one table per
section and writes every figure as JSON.

Layout, one module per concern: ``cli`` (arguments, the run of every section, the report and the
JSON; ``__main__`` calls it), ``common`` (configuration, constants, table and percentile helpers),
``timers`` (time inside moto, GC pauses), ``cold_imports`` (1), ``cold_start`` (1b), ``aws_calls`` (2), ``latency`` (3),
``burst`` (one round of 4 + 5), ``delivery`` (notices to environments, threaded or serial),
``baseline`` (the Powertools way, configured as a careful user would, for 2 and 5),
``baseline_lifecycle`` (the baseline over one lifecycle, for 2), ``lifecycle`` (its steps and the
floor), ``burst_summary`` (4 + 5 over the rounds), and
``bundle_env``: the bundle in-process on moto + the simulator, and the one place that reaches into
``douyin_pay.bundle`` and ``tests.bundle.harness`` (adapt it when their API changes).
"""
