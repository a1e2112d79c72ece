"""Checks of infra/template.yaml, offline (run by scripts/test.sh):

- cfn-lint, informational checks included, reports nothing, both on the template and on its
  expansion by aws-sam-translator (what CloudFormation deploys; cfn-lint itself only merges
  Globals);
- the state machines' definitions are valid Amazon States Language (cfn-lint's schema) and
  every transition names a state of its scope, every state is reachable and ends or goes on;
- the Glue tables' TableInput equals what `synclake table ddl --dialect glue` generates from the
  writers' Arrow schemas, so the catalogue cannot drift from the files;
- every named query runs with DuckDB against a table `synclake replay` wrote from
  infra/tests/sample.jsonl, and returns exactly the rows its description promises;
- with --bundles: each bundle `scripts/package-lambda.sh <arch>` made holds exactly the
  artefacts the template references, each a zip of one `bootstrap` built for that
  architecture, and a copy of the template declaring the functions for it.

    python infra/tests/run.py --synclake target/debug/synclake [--bundles target/lambda --arch x86_64 --arch arm64]
"""

import argparse
import datetime
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

import cfnlint
import duckdb
import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
from cfnlint.decode import decode
from samtranslator.translator.transform import transform as sam_transform

HERE = os.path.dirname(os.path.abspath(__file__))
INFRA = os.path.dirname(HERE)
TEMPLATE = os.path.join(INFRA, "template.yaml")
ARGS = None

POOL = "us-east-1:00000000-0000-4000-8000-000000000001"
A = "us-east-1:aaaaaaaa-0000-4000-8000-00000000000a"
B = "us-east-1:bbbbbbbb-0000-4000-8000-00000000000b"
ELF_MACHINE = {"x86_64": 0x3E, "arm64": 0xB7}


@functools.lru_cache(maxsize=None)
def decoded_template(path):
    template, matches = decode(path)
    if matches:
        raise AssertionError(f"{path} does not parse: {matches}")
    return json.dumps(template)


def load_template(path=TEMPLATE):
    """The template as plain data, parsed once; each caller gets a copy of its own."""
    return json.loads(decoded_template(path))


def resources(template, kind):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def cfn_lint(path, *flags):
    cfn_lint = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    return subprocess.run([cfn_lint, *flags, "--", path], capture_output=True, text=True)


class NoManagedPolicies:
    """The template names no AWS managed policies: nothing to look up."""

    def load(self):
        return {}


def expand_sam(template):
    """The template as CloudFormation deploys it: what `sam package` uploads replaced by S3
    URIs, then the SAM transform applied by aws-sam-translator, offline."""
    for r in template["Resources"].values():
        if r["Type"] == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://artifacts/" + r["Properties"]["CodeUri"]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    pseudo = {
        "AWS::Region": "us-east-1",
        "AWS::AccountId": "123456789012",
        "AWS::Partition": "aws",
        "AWS::StackName": "synclake",
        "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/synclake/1",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    return sam_transform(template, pseudo, NoManagedPolicies())


ASL_SCHEMA = os.path.join(
    os.path.dirname(cfnlint.__file__), "data", "schemas", "other", "step_functions", "statemachine.json"
)


@functools.lru_cache(maxsize=None)
def asl_validator():
    with open(ASL_SCHEMA) as f:
        # 2019-09: the schema puts each state's rules beside a $ref, which draft 7 would ignore.
        return jsonschema.Draft201909Validator(json.load(f))


def asl_errors(definition):
    """What is wrong with a state machine definition: its schema, then its transitions."""
    errors = [e.message for e in asl_validator().iter_errors(definition)]
    return errors + transition_errors(definition, "")


def transition_errors(scope, where):
    states = scope.get("States", {})
    errors = []
    if scope.get("StartAt") not in states:
        errors.append(f"{where}StartAt {scope.get('StartAt')!r} is not a state")
    edges = {}
    for name, state in states.items():
        targets = [state["Next"]] if "Next" in state else []
        targets += [c["Next"] for c in state.get("Choices", []) if "Next" in c]
        targets += [state["Default"]] if "Default" in state else []
        targets += [c["Next"] for c in state.get("Catch", [])]
        for t in targets:
            if t not in states:
                errors.append(f"{where}{name}: goes to {t!r}, not a state")
        ends = state.get("End") is True or state["Type"] in ("Succeed", "Fail", "Choice")
        if not targets and not ends:
            errors.append(f"{where}{name}: neither ends nor goes on")
        edges[name] = targets
        for inner in [state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])]:
            if inner:
                errors += transition_errors(inner, f"{where}{name}/")
    seen, todo = set(), [scope.get("StartAt")]
    while todo:
        n = todo.pop()
        if n in edges and n not in seen:
            seen.add(n)
            todo += edges[n]
    errors += [f"{where}{n}: unreachable" for n in states if n not in seen]
    return errors


def state_machine_definitions(template):
    """Each SAM state machine's definition, its substitutions filled in with plausible ARNs."""
    out = {}
    for name, r in resources(template, "AWS::Serverless::StateMachine").items():
        text = json.dumps(r["Properties"]["Definition"])
        for key in r["Properties"].get("DefinitionSubstitutions", {}):
            value = "aws" if key == "Partition" else f"arn:aws:lambda:us-east-1:123456789012:function:{key}"
            text = text.replace("${%s}" % key, value)
        out[name] = json.loads(text)
    return out


@functools.lru_cache(maxsize=None)
def glue_ddl():
    run = subprocess.run(
        [ARGS.synclake, "table", "ddl", "--dialect", "glue"], check=True, capture_output=True, text=True
    )
    return run.stdout


def generated_glue_tables():
    """`synclake table ddl --dialect glue` (run once): each table's TableInput, by name."""
    return json.loads(glue_ddl())


def ts(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)


class Lint(unittest.TestCase):
    def test_cfn_lint_reports_nothing(self):
        run = cfn_lint(TEMPLATE, "--include-checks", "I")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(run.stdout.strip(), "")

    def test_the_sam_expansion_lints_clean_too(self):
        expanded = expand_sam(load_template())
        kinds = {r["Type"] for r in expanded["Resources"].values()}
        self.assertNotIn("AWS::Serverless::Function", kinds)
        self.assertIn("AWS::StepFunctions::StateMachine", kinds)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "expanded.json")
            with open(path, "w") as f:
                json.dump(expanded, f)
            run = cfn_lint(path, "--include-checks", "I")
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(run.stdout.strip(), "")

    def test_cfn_lint_catches_errors(self):
        # The lint above means something: a broken copy of the template fails it.
        with open(TEMPLATE) as f:
            text = f.read()
        broken = text.replace("      BisectBatchOnFunctionError: true", "      BisectBatchOnFunctionError: often", 1)
        self.assertNotEqual(broken, text)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.yaml")
            with open(path, "w") as f:
                f.write(broken)
            run = cfn_lint(path)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("'often' is not of type 'boolean'", run.stdout)


class StateMachines(unittest.TestCase):
    def test_definitions_are_valid_and_every_transition_lands(self):
        definitions = state_machine_definitions(load_template())
        self.assertEqual(sorted(definitions), ["BulkPublishMachine", "BulkPublishPoolMachine"])
        for name, definition in definitions.items():
            with self.subTest(machine=name):
                self.assertEqual(asl_errors(definition), [])

    def test_broken_definitions_are_caught(self):
        pool = state_machine_definitions(load_template())["BulkPublishPoolMachine"]
        for change, expected in [
            (lambda d: d["States"]["WaitAMinute"].update(Next="NoSuchState"), "not a state"),
            (lambda d: d["States"]["WaitAMinute"].update(Type="Bogus"), "Bogus"),
            (lambda d: d["States"]["IsDone"]["Choices"][0].update(Next="Nowhere"), "Nowhere"),
            (lambda d: d["States"].update(Orphan={"Type": "Succeed"}), "unreachable"),
            (lambda d: d["States"]["WaitAMinute"].update(Seconds="sixty"), "sixty"),
            (lambda d: d["States"]["Advance"].pop("Resource"), "Resource"),
            (lambda d: d["States"]["Advance"]["Retry"][0].update(MaxAttempts="six"), "six"),
        ]:
            broken = json.loads(json.dumps(pool))
            change(broken)
            errors = asl_errors(broken)
            self.assertTrue(any(expected in e for e in errors), errors)

    def test_the_loop_reads_the_fields_the_function_returns(self):
        # The bulk-publish function's output (crates/bulk-publish/src/advance.rs, AdvanceState,
        # checked in crates/lambda/tests/emulator.rs): `done`, and `status` as report.rs
        # spells it.
        pool = state_machine_definitions(load_template())["BulkPublishPoolMachine"]
        states = pool["States"]
        self.assertEqual(states["IsDone"]["Choices"][0]["Variable"], "$.done")
        ended = states["HowItEnded"]["Choices"][0]["Or"]
        self.assertEqual(
            sorted(c["StringEquals"] for c in ended), ["ALREADY_STREAMED", "SUCCEEDED"]
        )
        self.assertTrue(all(c["Variable"] == "$.status" for c in ended))
        self.assertEqual(states["Advance"]["OutputPath"], "$.Payload")

    def test_tasks_call_the_integrations_they_mean(self):
        definitions = state_machine_definitions(load_template())
        advance = definitions["BulkPublishPoolMachine"]["States"]["Advance"]
        self.assertEqual(advance["Resource"], "arn:aws:states:::lambda:invoke")
        each = definitions["BulkPublishMachine"]["States"]["EachPool"]["ItemProcessor"]["States"]
        self.assertEqual(each["PublishPool"]["Resource"], "arn:aws:states:::states:startExecution.sync:2")


class Alarms(unittest.TestCase):
    def test_metric_math_names_only_its_own_metrics(self):
        for name, alarm in resources(load_template(), "AWS::CloudWatch::Alarm").items():
            metrics = alarm["Properties"].get("Metrics")
            if not metrics:
                continue
            with self.subTest(alarm=name):
                ids = {m["Id"] for m in metrics}
                for m in metrics:
                    if "Expression" in m:
                        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m["Expression"]))
                        self.assertLessEqual(words - {"FILL"}, ids - {m["Id"]}, m["Expression"])
                self.assertEqual(sum(1 for m in metrics if m.get("ReturnData", True)), 1)


class GlueTables(unittest.TestCase):
    def test_glue_tables_are_the_generated_ones(self):
        generated = generated_glue_tables()
        in_template = {
            r["Properties"]["TableInput"]["Name"]: r["Properties"]["TableInput"]
            for r in resources(load_template(), "AWS::Glue::Table").values()
        }
        self.assertEqual(sorted(in_template), sorted(generated))
        for name, table in generated.items():
            # The whole TableInput, columns in order: run `synclake table ddl --dialect glue`
            # and copy the table into infra/template.yaml when this fails.
            self.assertEqual(in_template[name], table, name)

    def test_the_changes_table_projects_its_partitions(self):
        changes = [
            r["Properties"]["TableInput"]
            for r in resources(load_template(), "AWS::Glue::Table").values()
            if r["Properties"]["TableInput"]["Name"] == "changes"
        ][0]
        params = changes["Parameters"]
        self.assertEqual(params["projection.enabled"], "true")
        self.assertEqual([k["Name"] for k in changes["PartitionKeys"]], ["dt", "hr"])
        self.assertEqual(
            params["storage.location.template"],
            {"Fn::Sub": "s3://${TableBucket}/${TablePrefix}/dt=${!dt}/hr=${!hr}/"},
        )


# What each named query must return on the sample (infra/tests/sample.jsonl: A's profile
# is created, changed, a key removed, a version repeated by a bulk publish; B's game is
# created, deleted and created again; three lines cannot be converted).
EXPECTED = {
    "current-state": [
        (POOL, A, "profile", "color", "blue", 2, ts("2025-03-14T11:00:00")),
        (POOL, B, "game", "level", "1", 1, ts("2025-03-15T11:00:00")),
    ],
    "changes-per-dataset-per-day": [
        ("2025-03-14", POOL, "game", 1, 1, 1),
        ("2025-03-14", POOL, "profile", 2, 3, 1),
        ("2025-03-15", POOL, "game", 2, 1, 1),
        ("2025-03-15", POOL, "profile", 2, 2, 1),
    ],
    "deduplicated-history": [
        (A, "profile", "color", 1, "red", "replace"),
        (A, "profile", "color", 2, "blue", "replace"),
        (A, "profile", "name", 1, "Ann", "replace"),
        (A, "profile", "name", 2, None, "remove"),
        # the game's first and second life both have a version 1 of `level`: different versions
        (B, "game", "level", 1, "3", "replace"),
        (B, "game", "level", 1, "1", "replace"),
    ],
    "dead-letters-by-reason": [
        ("decode", "invalid_json", 2),
        ("decode", "invalid_utf8", 1),
    ],
    "table-complete-since": [
        (POOL, ts("2025-03-15T13:00:00"), 2),
    ],
}


def project(name, rows):
    """The columns of a query's rows the expectations name."""
    if name == "deduplicated-history":
        return [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]
    if name == "dead-letters-by-reason":
        return [r[:3] for r in rows]
    return rows


class NamedQueries(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="synclake-infra-")
        cls.lake = os.path.join(cls.tmp, "lake")
        run = subprocess.run(
            [ARGS.synclake, "replay", os.path.join(HERE, "sample.jsonl"), "--out", cls.lake],
            capture_output=True,
            text=True,
        )
        # 2: written, with dead letters
        assert run.returncode == 2, run.stdout + run.stderr
        write_bulk_publish_runs(os.path.join(cls.lake, "_bulk_publish"))
        cls.db = duckdb.connect()
        cls.db.execute("CREATE SCHEMA synclake")
        cls.db.execute(
            "CREATE VIEW synclake.changes AS SELECT * FROM read_parquet("
            f"'{cls.lake}/dt=*/hr=*/*.parquet', hive_partitioning = true,"
            " hive_types = {'dt': VARCHAR, 'hr': VARCHAR})"
        )
        cls.db.execute(
            "CREATE VIEW synclake.dead_letters AS SELECT * FROM read_parquet("
            f"'{cls.lake}/_dead_letters/*.parquet')"
        )
        cls.db.execute(
            "CREATE VIEW synclake.bulk_publish_runs AS SELECT * FROM read_parquet("
            f"'{cls.lake}/_bulk_publish/*.parquet')"
        )
        cls.queries = {
            r["Properties"]["Name"]: r["Properties"]
            for r in resources(load_template(), "AWS::Athena::NamedQuery").values()
        }

    @classmethod
    def tearDownClass(cls):
        cls.db.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def sql(self, name):
        text = self.queries[name]["QueryString"]["Fn::Sub"]
        self.assertNotIn("${", text.replace("${DatabaseName}", ""), "only the database is substituted")
        return text.replace("${DatabaseName}", "synclake")

    def rows(self, sql):
        # Through Arrow: DuckDB's own conversion of time zones needs pytz.
        table = self.db.sql(sql).to_arrow_table()
        return [tuple(r.values()) for r in table.to_pylist()]

    def test_every_named_query_is_checked(self):
        self.assertEqual(sorted(self.queries), sorted(EXPECTED))

    def test_named_queries_return_what_they_promise(self):
        for name, expected in EXPECTED.items():
            with self.subTest(query=name):
                self.assertEqual(project(name, self.rows(self.sql(name))), expected)

    def test_the_generated_columns_are_the_files_columns(self):
        # The files DuckDB reads have the columns the Glue tables declare, in order.
        generated = generated_glue_tables()
        for name in generated:
            declared = [c["Name"] for c in generated[name]["StorageDescriptor"]["Columns"]]
            declared += [c["Name"] for c in generated[name]["PartitionKeys"]]
            described = [r[0] for r in self.db.execute(f"DESCRIBE synclake.{name}").fetchall()]
            self.assertEqual(described, declared, name)


def write_bulk_publish_runs(directory):
    """Two successful runs and a failed one, as `synclake bulk-publish` records them."""
    os.makedirs(directory)
    utc = pa.timestamp("ms", tz="UTC")
    schema = pa.schema(
        [
            pa.field("pool", pa.string(), False),
            pa.field("requested_at", utc, False),
            pa.field("started_at", utc),
            pa.field("completed_at", utc),
            pa.field("status", pa.string(), False),
            pa.field("message", pa.string()),
            pa.field("attached", pa.bool_(), False),
        ]
    )
    runs = [
        ("2025-03-14T12:00:00", "2025-03-14T12:30:00", "SUCCEEDED", None),
        ("2025-03-15T08:00:00", "2025-03-15T08:10:00", "FAILED", "stream throttled"),
        ("2025-03-15T12:00:00", "2025-03-15T13:00:00", "SUCCEEDED", None),
    ]
    for i, (start, end, status, message) in enumerate(runs):
        table = pa.table(
            {
                "pool": [POOL],
                "requested_at": [ts(start)],
                "started_at": [ts(start)],
                "completed_at": [ts(end)],
                "status": [status],
                "message": [message],
                "attached": [False],
            },
            schema=schema,
        )
        pq.write_table(table, os.path.join(directory, f"run-{i}-{status}.parquet"))


class Bundles(unittest.TestCase):
    """The packaging command's output against the template's references."""

    def test_each_bundle_holds_exactly_what_the_template_references(self):
        self.assertTrue(ARGS.arch, "--bundles needs at least one --arch")
        for arch in ARGS.arch:
            with self.subTest(arch=arch):
                bundle = os.path.join(ARGS.bundles, arch)
                copy = os.path.join(bundle, "template.yaml")
                template = load_template(copy)
                line = "    Architectures: [x86_64]  # the bundle's architecture: set by scripts/package-lambda.sh"
                with open(copy) as a, open(TEMPLATE) as b:
                    original = b.read()
                    self.assertIn(line, original.splitlines())
                    # The same template, but for the functions' architecture.
                    self.assertEqual(a.read(), original.replace(line, line.replace("x86_64", arch)))
                self.assertEqual(template["Globals"]["Function"]["Architectures"], [arch])
                referenced = sorted(
                    r["Properties"]["CodeUri"]
                    for r in resources(template, "AWS::Serverless::Function").values()
                )
                produced = sorted(
                    os.path.relpath(os.path.join(root, f), bundle)
                    for root, _, files in os.walk(bundle)
                    for f in files
                    if f.endswith(".zip")
                )
                self.assertEqual(produced, referenced)
                for artefact in produced:
                    with zipfile.ZipFile(os.path.join(bundle, artefact)) as z:
                        self.assertEqual(z.namelist(), ["bootstrap"], artefact)
                        info = z.getinfo("bootstrap")
                        self.assertTrue((info.external_attr >> 16) & 0o111, f"{artefact}: bootstrap not executable")
                        head = z.open("bootstrap").read(20)
                    self.assertEqual(head[:4], b"\x7fELF", artefact)
                    machine = int.from_bytes(head[18:20], "little")
                    self.assertEqual(machine, ELF_MACHINE[arch], f"{artefact}: ELF machine {machine:#x}")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--synclake", required=True, help="the synclake binary")
    parser.add_argument("--bundles", help="target/lambda: check the bundles of each --arch")
    parser.add_argument("--arch", action="append", default=[], choices=sorted(ELF_MACHINE))
    parser.add_argument("-q", action="store_true", help="quiet")
    ARGS = parser.parse_args()
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    cases = (Lint, StateMachines, Alarms, GlueTables, NamedQueries) + ((Bundles,) if ARGS.bundles else ())
    for case in cases:
        suite.addTests(loader.loadTestsFromTestCase(case))
    result = unittest.TextTestRunner(verbosity=1 if ARGS.q else 2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
