"""Harness of the `synclake local` conformance suite: configs, servers and clients.

Servers are started lazily (the first test that needs one starts it) and stopped by
`stop_all()` (run.py calls it in every case). Each server gets its own directory in the run's
temporary directory, with its `config.toml` and `server.log` (stderr, and stdout after the first
line). No stand-in servers: the `endpoints` server's `[kinesis]` is the real local Kinesis
(kinesis-local, SYNCLAKE_TEST_KINESIS_ENDPOINT; see kinesis_streams.py), and Sync Triggers run
in process (trigger_rules.toml).
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import urllib.request

import boto3
import botocore.config
from botocore import UNSIGNED

import kinesis_streams

HERE = os.path.dirname(os.path.abspath(__file__))
RULES_FILE = os.path.join(HERE, "trigger_rules.toml")
REGION = "us-east-1"
LISTEN_RE = re.compile(r"^listening on (http://127\.0\.0\.1:(\d+))$")
START_TIMEOUT = 30


def pool_id(n):
    return f"us-east-1:00000000-0000-4000-8000-{n:012x}"


def identity_id(tag):
    return f"us-east-1:00000000-0000-4000-8000-{int(tag, 16):012x}"


DEV_KEY, DEV_SECRET = "AKIDEV", "dev-secret"
VALIDATE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:validate"
THROTTLED_ARN = "arn:aws:lambda:us-east-1:123456789012:function:throttled"
ROLE_ARN = "arn:aws:iam::123456789012:role/cognito-streams"
PUSH_ROLE_ARN = "arn:aws:iam::123456789012:role/cognito-push"
APP_ARN = "arn:aws:sns:us-east-1:123456789012:app/GCM/synclake-conformance"

# Pools of the main server: what each is for.
P1 = pool_id(1)  # records, datasets, auth, push (PushSync set by test_push)
P2 = pool_id(2)  # "another pool"; live Cognito Streams (test_bulk_publish); never PushSync
P3 = pool_id(3)  # bulk publish into the embedded stream
P4 = pool_id(4)  # never configured, never written: defaults
P5 = pool_id(5)  # Set/GetIdentityPoolConfiguration
P6 = pool_id(6)  # Cognito Events / Sync Trigger
UNKNOWN_POOL = "us-east-1:00000000-0000-4000-8000-0000000dead0"


class Identity:
    """A Cognito identity of a server's config, with its own credentials."""

    def __init__(self, name, pool, id_):
        self.name, self.pool, self.id = name, pool, id_
        self.key = "AKIDID" + name.upper()
        self.secret = name + "-secret"

    def __repr__(self):
        return f"Identity({self.name}, {self.id})"


def _identities(names_by_pool, base):
    out = {}
    for pool, names in names_by_pool.items():
        for name in names:
            out[name] = Identity(name, pool, identity_id(f"{base:x}{len(out):02x}"))
    return out


# Identity ids are distinct per server config; names are what tests use.
MAIN_IDS = _identities(
    {P1: ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"], P2: ["b1"], P3: ["c1"], P6: ["f1"]}, 0xA
)
LIMIT_POOL = pool_id(0x11)
LIMIT_IDS = _identities({LIMIT_POOL: ["l1", "l2", "l3"]}, 0xB)
RATE_POOL = pool_id(0x21)
RATE_IDS = _identities({RATE_POOL: ["r1", "r2"]}, 0xC)
KIN_POOL = pool_id(0x31)
KIN_POOL2 = pool_id(0x32)  # many datasets: a bulk publish that lasts long enough to be seen IN_PROGRESS
KIN_IDS = _identities({KIN_POOL: ["k1"], KIN_POOL2: ["k2"]}, 0xD)
DUR_POOL = pool_id(0x41)
DUR_IDS = _identities({DUR_POOL: ["d1"]}, 0xE)


# ---------------------------------------------------------------- TOML writing

def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string for our inputs
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def to_toml(cfg):
    """A config dict → TOML: scalars first, then tables (dict), then arrays of tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in cfg.items() if not isinstance(v, (dict, list))
             or (isinstance(v, list) and not (v and isinstance(v[0], dict)))]
    for k, v in cfg.items():
        if isinstance(v, dict):
            lines.append(f"\n[{k}]")
            lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, v in cfg.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append(f"\n[[{k}]]")
                lines += [f"{kk} = {_toml_value(vv)}" for kk, vv in item.items()]
    return "\n".join(lines) + "\n"


def base_config(ids, pools, developers=((DEV_KEY, DEV_SECRET),)):
    return {
        "region": REGION,
        "pools": [{"id": p} for p in pools],
        "developers": [{"access_key": k, "secret_key": s} for k, s in developers],
        "identities": [{"pool": i.pool, "id": i.id, "access_key": i.key, "secret_key": i.secret}
                       for i in ids.values()],
    }


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name, cfg, ids, args=("--in-memory", "--test-clock")):
        self.name, self.cfg, self.ids, self.args = name, cfg, ids, list(args)
        self.proc = None
        self.url = None
        self.exit_code = None

    def start(self):
        d = os.path.join(_STATE["workdir"], self.name)
        os.makedirs(d, exist_ok=True)
        if any("rules" in t for t in self.cfg.get("triggers", [])):
            shutil.copy(RULES_FILE, os.path.join(d, "trigger_rules.toml"))
        self.config_path = os.path.join(d, "config.toml")
        with open(self.config_path, "w") as f:
            f.write(to_toml(self.cfg))
        self.log_path = os.path.join(d, "server.log")
        cmd = [_STATE["binary"], "local", "--listen", "127.0.0.1:0", *self.args,
               "--config", self.config_path]
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost")
        env.pop("AWS_SESSION_TOKEN", None)
        env.pop("AWS_PROFILE", None)
        self.log = open(self.log_path, "ab")
        self.log.write(("$ " + " ".join(cmd) + "\n").encode())
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=env, cwd=d)
        first = queue.Queue()

        def drain():
            line = self.proc.stdout.readline()
            first.put(line)
            for rest in iter(self.proc.stdout.readline, b""):
                self.log.write(b"[stdout] " + rest)
                self.log.flush()

        threading.Thread(target=drain, daemon=True).start()
        try:
            line = first.get(timeout=START_TIMEOUT).decode(errors="replace").rstrip("\r\n")
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"server {self.name}: no stdout line within {START_TIMEOUT}s "
                               f"(log {self.log_path})")
        m = LISTEN_RE.match(line)
        if not m:
            self.stop()
            raise RuntimeError(f"server {self.name}: first stdout line {line!r} is not "
                               f"'listening on http://127.0.0.1:<port>' (exit {self.exit_code}); "
                               f"log {self.log_path}:\n{tail(self.log_path)}")
        self.first_line, self.url, self.port = line, m.group(1), int(m.group(2))
        return self

    def stop(self, timeout=10, sig=signal.SIGTERM):
        if self.proc is None or self.exit_code is not None:
            return self.exit_code
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        return self.exit_code

    # ---- clients
    def client(self, who="dev", secret=None, unsigned=False, validate=True, read_timeout=60):
        """A cognito-sync client. who: "dev", an identity name of this server, or an access key."""
        if who == "dev":
            key, sec = DEV_KEY, DEV_SECRET
        elif who in self.ids:
            key, sec = self.ids[who].key, self.ids[who].secret
        else:
            key, sec = who, "whatever"
        cfg = botocore.config.Config(
            retries={"total_max_attempts": 1}, parameter_validation=validate,
            read_timeout=read_timeout, connect_timeout=10,
            **({"signature_version": UNSIGNED} if unsigned else {}))
        return boto3.session.Session().client(
            "cognito-sync", endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=key, aws_secret_access_key=secret or sec, config=cfg)

    def ident(self, name):
        return self.ids[name]

    # ---- /_local endpoints (plain HTTP, unsigned)
    def local(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def advance_clock(self, secs):
        status, body = self.local("POST", "/_local/clock", {"advance_secs": secs})
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("now_ms"), int):
            raise AssertionError(f"POST /_local/clock → {status} {body!r}")
        return body["now_ms"]

    def stream(self, after=0):
        """Every embedded-stream record with seq > after (follows paging by seq)."""
        out = []
        while True:
            status, body = self.local("GET", f"/_local/stream?after={after}")
            if status != 200:
                raise AssertionError(f"GET /_local/stream → {status} {body!r}")
            recs = body["records"]
            if not recs:
                return out
            out += recs
            after = max(r["seq"] for r in recs)

    def last_seq(self):
        recs = self.stream(0)
        return max((r["seq"] for r in recs), default=0)

    def notifications(self):
        status, body = self.local("GET", "/_local/notifications")
        if status != 200:
            raise AssertionError(f"GET /_local/notifications → {status} {body!r}")
        return body["notifications"]


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


_STATE = {"binary": None, "workdir": None, "servers": {}, "failed": {}, "extra": []}


def configure(binary, workdir):
    _STATE["binary"], _STATE["workdir"] = binary, workdir


def _spec(name):
    if name == "main":
        cfg = base_config(MAIN_IDS, [P1, P2, P3, P4, P5, P6])
        cfg["session_ttl_secs"] = 3600
        cfg["triggers"] = [{"function_arn": VALIDATE_ARN, "rules": "trigger_rules.toml"},
                           {"function_arn": THROTTLED_ARN, "rules": "trigger_rules.toml",
                            "reserved_concurrency": 0}]
        return Server(name, cfg, MAIN_IDS)
    if name == "limits":
        cfg = base_config(LIMIT_IDS, [LIMIT_POOL])
        cfg["limits"] = {"datasets_per_identity": 3, "records_per_dataset": 5, "bytes_per_dataset": 100}
        return Server(name, cfg, LIMIT_IDS)
    if name == "rate":  # requests_per_second and --no-verify
        cfg = base_config(RATE_IDS, [RATE_POOL], developers=[(DEV_KEY, DEV_SECRET), ("AKIRATE1", "r1"),
                                                             ("AKIRATE2", "r2")])
        cfg["limits"] = {"requests_per_second": 2}
        return Server(name, cfg, RATE_IDS, args=("--in-memory", "--test-clock", "--no-verify"))
    if name == "endpoints":  # [kinesis] at the local Kinesis server (kinesis-local)
        url = kinesis_streams.endpoint()
        if not url:
            raise RuntimeError(kinesis_streams.missing_message())
        cfg = base_config(KIN_IDS, [KIN_POOL, KIN_POOL2])
        cfg["kinesis"] = {"endpoint": url, "access_key": kinesis_streams.KEY,
                          "secret_key": kinesis_streams.SECRET}
        cfg["limits"] = {"datasets_per_identity": 1000}
        return Server(name, cfg, KIN_IDS)
    raise KeyError(name)


def server(name):
    """The shared server `name`, started on first use."""
    if name in _STATE["failed"]:
        raise RuntimeError(f"server {name!r} failed to start earlier: {_STATE['failed'][name]}")
    s = _STATE["servers"].get(name)
    if s is None:
        try:
            s = _spec(name).start()
        except Exception as e:
            _STATE["failed"][name] = str(e)
            raise
        _STATE["servers"][name] = s
    return s


def extra_server(name, cfg, ids, args):
    """A server owned by one test (it stops it); still stopped by stop_all if left running."""
    s = Server(name, cfg, ids, args=args)
    _STATE["extra"].append(s)
    return s.start()


def stop_all():
    for s in list(_STATE["servers"].values()) + _STATE["extra"]:
        try:
            s.stop()
        except Exception:
            pass


def all_servers():
    return list(_STATE["servers"].values()) + _STATE["extra"]
