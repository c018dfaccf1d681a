"""Drives boto3 against SSE Store's S3 listener for test/e2e/s3-boto3.test.ts.

Usage: python3 boto3_s3.py CONFIG.json SCENARIO. CONFIG names the endpoint, the keys, the bucket
and a work directory. Each scenario does what a boto3 user would do, with boto3's default settings
unless it says otherwise, and prints one JSON object of what it observed (checksums, ETags, SHA-256
of the bytes, error codes); the vitest file judges it. A failing call is reported, not raised.
"""

import hashlib
import json
import os
import socket
import sys
import urllib.request
from urllib.parse import urlparse

import boto3
import botocore
import botocore.httpchecksum
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

MIB = 1024 * 1024
ALGORITHMS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def pattern_bytes(seed, size):
    """Deterministic, incompressible-looking bytes (SHA-256 in counter mode)."""
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{n}".encode()).digest()
        n += 1
    return bytes(out[:size])


def write_file(path, seed, size):
    with open(path, "wb") as f:
        left, n = size, 0
        while left > 0:
            block = pattern_bytes(f"{seed}/{n}", min(MIB, left))
            f.write(block)
            left -= len(block)
            n += 1


def error_of(e):
    return {
        "code": e.response.get("Error", {}).get("Code"),
        "status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
    }


def attempt(fn):
    """{"ok": result} or {"error": {code, status}}: what the call did."""
    try:
        return {"ok": fn()}
    except ClientError as e:
        return {"error": error_of(e)}


cfg = json.load(open(sys.argv[1]))
scenario = sys.argv[2]
BUCKET = cfg["bucket"]
WORK = cfg["work"]


def client(**config):
    return boto3.client(
        "s3",
        endpoint_url=cfg["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=cfg["accessKeyId"],
        aws_secret_access_key=cfg.get("secret", cfg["secretAccessKey"]),
        config=Config(**config) if config else None,
    )


s3 = client()


def put_with_each_checksum(c, prefix):
    body = pattern_bytes(prefix, 300_001)
    out = {}
    for algo in ALGORITHMS:
        key = f"{prefix}/{algo.lower()}.bin"
        try:
            put = c.put_object(Bucket=BUCKET, Key=key, Body=body, ChecksumAlgorithm=algo)
        except (botocore.exceptions.MissingDependencyException, botocore.exceptions.FlexibleChecksumError) as e:
            # CRC32C and CRC64NVME need the AWS CRT (or a newer botocore), which this Python may lack.
            out[algo] = {"clientLacks": str(e).splitlines()[0]}
            continue
        except ClientError as e:
            out[algo] = {"error": error_of(e)}
            continue
        field = "Checksum" + algo
        head = c.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        got = c.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        data = got["Body"].read()
        out[algo] = {
            "put": put.get(field),
            "head": head.get(field),
            "get": got.get(field),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return {"sha256": hashlib.sha256(body).hexdigest(), "results": out}


def scenario_setup():
    return {"created": s3.create_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"]}


def scenario_checksums():
    return put_with_each_checksum(s3, "checksums")


def scenario_trailers():
    # Over https boto3 sends a streaming body as aws-chunked with the checksum in a trailer
    # (STREAMING-UNSIGNED-PAYLOAD-TRAILER); over plain http it puts the checksum in a header. The
    # server speaks http here, so boto3 is told the endpoint is https only for that one decision.
    if not hasattr(botocore.httpchecksum, "urlparse"):
        return {"clientLacks": f"botocore {botocore.__version__} decides on trailers in a way this test cannot redirect"}
    real = botocore.httpchecksum.urlparse

    def as_https(url):
        return real(url)._replace(scheme="https")

    botocore.httpchecksum.urlparse = as_https
    seen = []
    c = client()

    def record(request, **_):
        sent = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        seen.append({"contentSha256": sent.get("x-amz-content-sha256"), "trailer": sent.get("x-amz-trailer")})

    c.meta.events.register("before-send.s3.PutObject", record)
    try:
        result = put_with_each_checksum(c, "trailers")
    finally:
        botocore.httpchecksum.urlparse = real
    result["sent"] = seen
    return result


def scenario_transfer():
    size = int(cfg["size"])
    src = os.path.join(WORK, "upload.bin")
    write_file(src, "transfer", size)
    out = {"sha256": sha256_file(src), "size": size}
    # The defaults first (8 MiB threshold and parts, 10 threads), then parts of 5 MiB, 4 at a time.
    s3.upload_file(src, BUCKET, "transfer/default.bin")
    config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
    s3.upload_file(src, BUCKET, "transfer/small-parts.bin", Config=config)
    for name in ["default", "small-parts"]:
        key = f"transfer/{name}.bin"
        dst = os.path.join(WORK, f"{name}.down")
        s3.download_file(BUCKET, key, dst, Config=config)
        head = s3.head_object(Bucket=BUCKET, Key=key)
        out[name] = {"etag": head["ETag"], "length": head["ContentLength"], "sha256": sha256_file(dst)}
        os.remove(dst)
    with open(src, "rb") as f:
        f.seek(12_345_678)
        expected = f.read(1_000_000)
    got = s3.get_object(Bucket=BUCKET, Key="transfer/default.bin", Range="bytes=12345678-13345677")
    out["range"] = {
        "contentRange": got["ContentRange"],
        "length": got["ContentLength"],
        "matches": got["Body"].read() == expected,
    }
    tail = s3.get_object(Bucket=BUCKET, Key="transfer/default.bin", Range="bytes=-1000")
    with open(src, "rb") as f:
        f.seek(size - 1000)
        out["suffix"] = {"contentRange": tail["ContentRange"], "matches": tail["Body"].read() == f.read()}
    os.remove(src)
    return out


def scenario_listing():
    keys = [f"list/k{i:02d}.txt" for i in range(25)]
    for k in keys:
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
    s3.put_object(Bucket=BUCKET, Key="list/sub/x.txt", Body=b"x")
    pages = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix="list/", Delimiter="/", PaginationConfig={"PageSize": 7}
    ):
        pages.append(
            {
                "keys": [o["Key"] for o in page.get("Contents", [])],
                "prefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
            }
        )
    v1 = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=BUCKET, Prefix="list/", PaginationConfig={"PageSize": 10}):
        v1.append([o["Key"] for o in page.get("Contents", [])])
    deleted = s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:20]] + [{"Key": "list/never-was"}]}
    )
    quiet = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[20:]], "Quiet": True})
    left = s3.list_objects_v2(Bucket=BUCKET, Prefix="list/")
    return {
        "pages": pages,
        "v1": v1,
        "deleted": sorted(d["Key"] for d in deleted.get("Deleted", [])),
        "deleteErrors": deleted.get("Errors", []),
        "quietDeleted": quiet.get("Deleted", []),
        "left": [o["Key"] for o in left.get("Contents", [])],
    }


def scenario_presign():
    body = pattern_bytes("presigned", 70_000)
    s3.put_object(Bucket=BUCKET, Key="presign/get.bin", Body=body)
    v4 = client(signature_version="s3v4")
    return {
        "sha256": hashlib.sha256(body).hexdigest(),
        "getDefault": s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/get.bin"}, ExpiresIn=300),
        "getV4": v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/get.bin"}, ExpiresIn=300),
        "putDefault": s3.generate_presigned_url(
            "put_object", Params={"Bucket": BUCKET, "Key": "presign/put-default.bin", "ContentType": "application/x-test"}, ExpiresIn=300
        ),
        "putV4": v4.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presign/put-v4.bin"}, ExpiresIn=300),
    }


def scenario_presigned_uploads():
    out = {}
    for name in ["put-default", "put-v4"]:
        got = s3.get_object(Bucket=BUCKET, Key=f"presign/{name}.bin")
        out[name] = {"sha256": hashlib.sha256(got["Body"].read()).hexdigest(), "contentType": got["ContentType"]}
    return out


def scenario_conditional():
    if "IfNoneMatch" not in s3.meta.service_model.operation_model("PutObject").input_shape.members:
        return {"clientLacks": f"botocore {botocore.__version__} has no conditional writes (IfNoneMatch on put_object)"}
    key = "cond/once.txt"
    first = attempt(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"first", IfNoneMatch="*")["ETag"])
    second = attempt(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"second", IfNoneMatch="*")["ETag"])
    etag = first.get("ok")
    match = attempt(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"third", IfMatch=etag)["ETag"])
    stale = attempt(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"fourth", IfMatch=etag))
    final = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    not_modified = attempt(lambda: s3.get_object(Bucket=BUCKET, Key=key, IfNoneMatch=match.get("ok")))
    return {"first": first, "second": second, "ifMatch": match, "staleIfMatch": "error" in stale and stale["error"], "final": final, "ifNoneMatchGet": not_modified}


def scenario_errors():
    bad = client()
    bad_secret = boto3.client(
        "s3",
        endpoint_url=cfg["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=cfg["accessKeyId"],
        aws_secret_access_key=cfg["secretAccessKey"][:-1] + ("A" if cfg["secretAccessKey"][-1] != "A" else "B"),
    )
    unknown = boto3.client(
        "s3",
        endpoint_url=cfg["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="AKIDUNKNOWN000000000",
        aws_secret_access_key=cfg["secretAccessKey"],
    )
    return {
        "noSuchKey": attempt(lambda: bad.get_object(Bucket=BUCKET, Key="no/such/key")),
        "headMissing": attempt(lambda: bad.head_object(Bucket=BUCKET, Key="no/such/key")),
        "noSuchBucket": attempt(lambda: bad.list_objects_v2(Bucket="no-such-bucket-here")),
        "noSuchUpload": attempt(lambda: bad.list_parts(Bucket=BUCKET, Key="k", UploadId="nope")),
        "badSecret": attempt(lambda: bad_secret.list_objects_v2(Bucket=BUCKET)),
        "unknownKey": attempt(lambda: unknown.list_buckets()),
        "bucketNotEmpty": attempt(lambda: bad.delete_bucket(Bucket=BUCKET)),
        "invalidBucketName": attempt(lambda: bad.create_bucket(Bucket="Not_Valid")),
    }


def scenario_virtual_host():
    # Virtual-hosted style needs `<bucket>.<domain>` to resolve; this process maps it to the
    # server's address instead of asking a DNS server, as a wildcard DNS record would.
    domain = cfg["domain"]
    port = urlparse(cfg["endpoint"]).port
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and (host == domain or host.endswith("." + domain)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = resolve
    endpoint = f"http://{domain}:{port}"
    hosts = []

    def virtual(**config):
        c = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=cfg["accessKeyId"],
            aws_secret_access_key=cfg["secretAccessKey"],
            config=Config(s3={"addressing_style": "virtual"}, **config),
        )
        c.meta.events.register("before-send.s3", lambda request, **_: hosts.append(urlparse(request.url).hostname))
        return c

    c = virtual()
    body = pattern_bytes("virtual", 12_345)
    c.put_object(Bucket=BUCKET, Key="virtual/a b.txt", Body=body)
    got = c.get_object(Bucket=BUCKET, Key="virtual/a b.txt")["Body"].read()
    listed = [o["Key"] for o in c.list_objects_v2(Bucket=BUCKET, Prefix="virtual/")["Contents"]]
    presigned = {}
    for name, signer in [("default", virtual()), ("v4", virtual(signature_version="s3v4"))]:
        url = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "virtual/a b.txt"}, ExpiresIn=300)
        with urllib.request.urlopen(url) as r:
            presigned[name] = {"host": urlparse(url).hostname, "sha256": hashlib.sha256(r.read()).hexdigest()}
    socket.getaddrinfo = real
    return {
        "sha256": hashlib.sha256(body).hexdigest(),
        "got": hashlib.sha256(got).hexdigest(),
        "listed": listed,
        "hosts": sorted(set(hosts)),
        "presigned": presigned,
    }


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in list(globals().items()) if name.startswith("scenario_")}

if __name__ == "__main__":
    print(json.dumps({"boto3": boto3.__version__, "botocore": botocore.__version__, "result": SCENARIOS[scenario]()}))
