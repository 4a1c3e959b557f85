"""A generated benchmark program (blueprint_add_model_benchmark, MESH tp=2) under mpirun: each
process runs only its own rank, its fingerprint equals the same rank's when one process loops
both ranks, and the two add up (mod 2^64) to the one-device model's (`blueprint init`). A job
whose size is not the mesh's is refused with a sentence.

usage: model_benchmark_ranks.py MPIEXEC PROGRAM BLUEPRINT WORK_DIR
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

mpiexec, program, blueprint, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
quick = ["--benchmark_min_time=0.001", "--benchmark_filter=fingerprint|init_warm"]
mpi = [mpiexec, "--oversubscribe", "--allow-run-as-root"]


def fingerprints(doc):
    """{rank: fingerprint} from a Google Benchmark JSON document's fingerprint labels."""
    out = {}
    for b in doc["benchmarks"]:
        assert not b.get("error_occurred"), b
        m = re.search(r"/rank(\d+)/fingerprint/", b["name"])
        if m:
            out[int(m.group(1))] = int(b["label"].split("0x")[1], 16)
    return out


# Each process writes its own JSON file, named by its rank.
subprocess.run(mpi + ["-np", "2", "sh", "-c",
                      f'exec {shlex.quote(program)} {" ".join(map(shlex.quote, quick))} '
                      f'--benchmark_out="{work}/rank$OMPI_COMM_WORLD_RANK.json" '
                      "--benchmark_out_format=json"],
               check=True, capture_output=True, text=True, timeout=120)
by_process = {}
for rank in (0, 1):
    with open(f"{work}/rank{rank}.json") as f:
        doc = json.load(f)
    assert doc["context"]["blueprint.ranks"] == str(rank), doc["context"]
    assert doc["context"]["blueprint.world_size"] == "2", doc["context"]
    names = [b["name"] for b in doc["benchmarks"]]
    assert names and all(f"/rank{rank}/" in n for n in names), names
    by_process.update(fingerprints(doc))

looped = subprocess.run([program, *quick, "--benchmark_format=json"], check=True,
                        capture_output=True, text=True, timeout=120).stdout
in_one_process = fingerprints(json.loads(looped))
assert by_process == in_one_process, (by_process, in_one_process)

whole = json.loads(subprocess.run([blueprint, "init", "tiny-llama", "--dtype", "bf16", "--seed",
                                   "1234", "--json"], check=True, capture_output=True,
                                  text=True).stdout)["fingerprint"]
summed = (by_process[0] + by_process[1]) % 2**64
assert f"{summed:016x}" == whole, (f"{summed:016x}", whole)

wrong = subprocess.run(mpi + ["-np", "3", program, *quick], capture_output=True, text=True,
                       timeout=120)
assert wrong.returncode != 0
assert "but the mesh tp=2 has 2 ranks" in wrong.stderr, wrong.stderr
print(f"tp=2 under mpirun: per-rank fingerprints {by_process} equal the looped run's; "
      f"they add up to the model's {whole}")
