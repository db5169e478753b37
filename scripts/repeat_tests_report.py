"""The report of scripts/repeat-tests: per test that failed in any run, in how many runs.

Reads target/repeat-tests/build.json (cargo's artifact messages: which source file each test
executable was built from) and run-K.log (each run's cargo test output).
"""

import collections
import json
import pathlib
import re
import sys

RUNNING = re.compile(r"^\s+Running (?:unittests )?\S+ \((\S+)\)$")
DOCTESTS = re.compile(r"^\s+Doc-tests (\S+)$")
FAILED = re.compile(r"^test (.+) \.\.\. FAILED$")
# A test binary that died (a signal, a hang killed) fails without naming a test.
DIED = re.compile(r"process didn't exit successfully: `?(\S+?)[` ]")


def sources(build: pathlib.Path, root: pathlib.Path) -> dict[str, str]:
    """Test executable's file name -> the source file it was built from, relative to the root."""
    found = {}
    for line in build.read_text().splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message.get("executable"):
            src = pathlib.Path(message["target"]["src_path"])
            found[pathlib.Path(message["executable"]).name] = str(src.relative_to(root))
    return found


def located(binary: str, test: str) -> str:
    """'source file: test'; a test of a crate's one test binary (`tests/it/main.rs`) is named by
    its module's file: `tests/it/cli.rs: seeding_…`."""
    module, _, rest = test.partition("::")
    if binary.endswith("/it/main.rs") and rest:
        return f"{binary[: -len('main.rs')]}{module}.rs: {rest}"
    return f"{binary}: {test}"


def failures(log: pathlib.Path, names: dict[str, str]) -> set[str]:
    """Every test that failed in one run, as 'source file: test name'."""
    failed, binary, named = set(), "?", set()
    for line in log.read_text(errors="replace").splitlines():
        if m := RUNNING.match(line):
            binary = names.get(pathlib.Path(m.group(1)).name, m.group(1))
        elif m := DOCTESTS.match(line):
            binary = f"doc tests of {m.group(1)}"
        elif m := FAILED.match(line):
            failed.add(located(binary, m.group(1)))
            named.add(binary)
        elif m := DIED.search(line):
            source = names.get(pathlib.Path(m.group(1)).name, m.group(1))
            if source not in named:
                failed.add(f"{source}: (the test binary died; see the run's log)")
    if not any(l.startswith("test result:") for l in log.read_text(errors="replace").splitlines()):
        failed.add("(no test ran: the build or cargo failed; see the run's log)")
    return failed


def main() -> None:
    logs, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    names = sources(logs / "build.json", pathlib.Path.cwd())
    counts = collections.Counter()
    for run in range(1, runs + 1):
        counts.update(failures(logs / f"run-{run}.log", names))
    if not counts:
        print(f"repeat-tests: no test failed in {runs} of {runs} runs")
        return
    print(f"repeat-tests: tests that failed, with in how many of {runs} runs (logs: {logs}/run-K.log):")
    for test, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:3d} of {runs}  {test}")


if __name__ == "__main__":
    main()
