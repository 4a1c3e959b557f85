"""`mpirun -np N blueprint init MODEL --mesh ... --json` prints one JSON document (rank 0) whose
fingerprint is the whole model's: equal to the one-process `blueprint init` of the same seed.

usage: cli_mesh_init.py MPIEXEC BLUEPRINT MODEL MESH NP STRATEGY
"""
import json
import subprocess
import sys

mpiexec, blueprint, model, mesh, np_, strategy = sys.argv[1:7]
sharded = subprocess.run(
    [mpiexec, "-np", np_, "--oversubscribe", "--allow-run-as-root", blueprint, "init", model,
     "--mesh", mesh, "--strategy", strategy, "--seed", "11", "--dtype", "bf16", "--json"],
    check=True, capture_output=True, text=True).stdout
whole = subprocess.run([blueprint, "init", model, "--seed", "11", "--dtype", "bf16", "--json"],
                       check=True, capture_output=True, text=True).stdout
doc = json.loads(sharded)  # exactly one document: a second one would not parse
one = json.loads(whole)
for key in ("model", "parameters", "bytes", "alloc_seconds", "init_seconds", "init_gb_per_s",
            "peak_rss_bytes", "fingerprint", "mesh", "world_size", "ranks", "max_rank_bytes"):
    assert key in doc, f"missing key {key}"
assert doc["world_size"] == int(np_), doc["world_size"]
assert len(doc["ranks"]) == int(np_)
assert sum(r["bytes"] for r in doc["ranks"]) == doc["bytes"]
assert max(r["bytes"] for r in doc["ranks"]) == doc["max_rank_bytes"]
assert doc["fingerprint"] == one["fingerprint"], (doc["fingerprint"], one["fingerprint"])
print(f"{model} on {mesh} ({strategy}): fingerprint {doc['fingerprint']} equals the unsharded model's")
