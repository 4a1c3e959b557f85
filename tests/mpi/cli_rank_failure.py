"""Issue 12, distributed failure: one failing rank ends the whole job within a bounded time,
with that rank's message and its rank named, at every stage — validation, read, cast, write,
the commit's renames — and between agreement steps (the abort path). Before the fix the other
rank waited in MPI_Allreduce forever.

Each case runs `mpirun -np 1 blueprint ARGS : -np 1 env BLUEPRINT_FAULT=POINT blueprint ARGS`
(the fault on rank 1; on rank 0 for the steps only rank 0 does), or gives rank 1 a bad local
copy of the checkpoint, and asserts: exit status != 0, within TIMEOUT seconds, the message
"rank R of 2: ..." on stderr, and no final checkpoint left by a failed save.

usage: cli_rank_failure.py MPIEXEC BLUEPRINT WORKDIR
"""
import os
import shutil
import subprocess
import sys
import time

mpiexec, blueprint, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
TIMEOUT = 60  # seconds; a case takes 1-3 s, a hang never ends
mpi = [mpiexec, "--oversubscribe", "--allow-run-as-root"]
failures = []

seed = os.path.join(work, "seed")
subprocess.run([blueprint, "init", "tiny-llama", "--seed", "5", "--dtype", "bf16", "--save", seed],
               check=True, capture_output=True)
# A bad local copy: the same checkpoint cut short after its header.
bad = os.path.join(work, "bad_copy")
os.makedirs(bad)
with open(os.path.join(seed, "model.safetensors"), "rb") as f:
    blob = f.read()
with open(os.path.join(bad, "model.safetensors"), "wb") as f:
    f.write(blob[:len(blob) // 2])


def case(name, args, point=None, rank=1, args_of_rank1=None, expect=None):
    """Runs 2 ranks, the fault (or other arguments) on `rank`; checks the failure report."""
    normal = [blueprint, *args]
    faulty = ["env", f"BLUEPRINT_FAULT={point}", blueprint, *args] if point else normal
    second = [blueprint, *args_of_rank1] if args_of_rank1 else (faulty if rank == 1 else normal)
    first = faulty if rank == 0 else normal
    cmd = mpi + ["-np", "1", *first, ":", "-np", "1", *second]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: the job did not end within {TIMEOUT} s (a hang)")
        print("FAIL:", failures[-1])
        return
    seconds = time.monotonic() - t0
    wanted = [f"rank {rank} of 2: "] + ([expect] if expect else [f"injected fault at {point}"])
    ok = r.returncode != 0 and all(w in r.stderr for w in wanted)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {r.returncode} in {seconds:.1f} s")
    if not ok:
        failures.append(f"{name}: rc={r.returncode}, expected {wanted} in stderr:\n{r.stderr[-1500:]}")


load = ["load", "tiny-llama", seed, "--mesh", "tp=2", "--dtype", "bf16"]
case("load, validation", load, "validate")
case("load, read", load, "read")
case("load, cast", load, "cast")
case("load, between agreement steps (abort path)", load, "fingerprint")
case("load, a bad local copy on rank 1", load,
     args_of_rank1=["load", "tiny-llama", bad, "--mesh", "tp=2", "--dtype", "bf16"],
     expect="not within the file bounds")
out = os.path.join(work, "converted")
convert = ["convert", "tiny-llama", seed, out, "--mesh", "tp=2", "--max-shard-size", "40KB"]
for point, rank in (("validate", 1), ("read", 1), ("write", 1), ("commit", 0), ("rename", 0)):
    shutil.rmtree(out, ignore_errors=True)
    case(f"convert, {point}", convert, point, rank)
    left = [f for f in os.listdir(out) if f.endswith(".blueprint-partial")] if os.path.isdir(out) else []
    index = os.path.join(out, "model.safetensors.index.json")
    if left or os.path.exists(index):
        failures.append(f"convert, {point}: the failed save left {left or index}")
        print("FAIL:", failures[-1])
init = ["init", "tiny-llama", "--mesh", "tp=2", "--save", os.path.join(work, "init_out")]
case("init --mesh --save, write", init, "write")
case("init --mesh, validation", init, "validate")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("every failure ended the job, named its rank, within the timeout")
