"""The checkpoint commands across meshes, under mpirun (issue 6): a seed checkpoint written by
`blueprint init --save`, converted by 4 ranks (tp=2 x dp=2, each writing its own slices into
small shards), loaded by 2 ranks (pp=2) and by one process: every fingerprint is the same.

usage: cli_checkpoint_mesh.py MPIEXEC BLUEPRINT WORKDIR
"""
import json
import os
import shutil
import subprocess
import sys

mpiexec, blueprint, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
seed_dir, converted = os.path.join(work, "seed"), os.path.join(work, "converted")
mpi = [mpiexec, "--oversubscribe", "--allow-run-as-root", "-np"]


def run(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


init = run([blueprint, "init", "tiny-llama", "--seed", "4", "--dtype", "bf16", "--save", seed_dir,
            "--json"])
conv = run(mpi + ["4", blueprint, "convert", "tiny-llama", seed_dir, converted, "--mesh",
                  "tp=2,dp=2", "--strategy", "fsdp", "--max-shard-size", "40KB", "--json"])
assert len(conv["files"]) > 1, conv["files"]
assert os.path.exists(os.path.join(converted, "model.safetensors.index.json"))
on_pp2 = run(mpi + ["2", blueprint, "load", "tiny-llama", converted, "--mesh", "pp=2",
                    "--strategy", "fsdp", "--json"])
alone = run([blueprint, "load", "tiny-llama", converted, "--json"])
fingerprints = {init["fingerprint"], conv["fingerprint"], on_pp2["fingerprint"], alone["fingerprint"]}
assert len(fingerprints) == 1, (init["fingerprint"], conv["fingerprint"], on_pp2["fingerprint"],
                                alone["fingerprint"])
print(f"init --save, convert on tp=2 x dp=2, load on pp=2 and alone: fingerprint {init['fingerprint']}")
