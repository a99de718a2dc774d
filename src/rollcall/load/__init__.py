"""`rollcall load`: how one target holds up under load, measured truthfully.

Stages of closed-loop concurrency or open-loop rate (spec.py, schedule.py, prompts.py), each
split into shards that measure requests on the shared target path (shard.py, record.py), merged
into bounded per-stage statistics (stage.py, distribution.py) and a rollcall.load/1 document
(document.py); run.py ties it together, view.py, sinks.py and compare.py show and keep it.
"""
