"""A threaded HTTP server that answers like the Hugging Face hub, for a fixed set of
repositories, each at one commit.

It implements what ``huggingface_hub`` 0.36 and ``datasets`` 5.0 call while loading a model
or a dataset (each request is recorded in ``HubServer.requests``):

- ``GET /api/{models,datasets}/{id}/revision/{rev}``: repository info (``model_info``,
  ``dataset_info``, ``HfFileSystem``'s existence checks);
- ``GET /api/{models,datasets}/{id}/tree/{rev}[/{path}]``: a folder's listing
  (``list_repo_tree``, ``HfFileSystem.ls``/``glob``);
- ``POST /api/{models,datasets}/{id}/paths-info/{rev}``: entries of given paths;
- ``HEAD``/``GET /{id}/resolve/{rev}/{file}`` and ``/datasets/{id}/resolve/{rev}/{file}``:
  a file's metadata (``X-Repo-Commit``, ``ETag``, ``Content-Length``) and bytes (``Range``
  honoured).

Only the commit a repository was registered with is served: any other revision, ``main``
included, is answered ``RevisionNotFound``, as the hub answers a commit that does not exist.
So a run against this server proves that every download names its pinned commit.
Errors carry the hub's ``X-Error-Code`` header (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``), which ``huggingface_hub`` turns into its own exceptions.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# Files the hub stores with Git LFS (as its default .gitattributes does): their ETag is the
# content's sha256 and their listing entries carry an "lfs" field.
LFS_SUFFIXES = (".safetensors", ".bin", ".parquet", ".h5", ".msgpack", ".ot", ".arrow", ".pt", ".pth", ".ckpt")
COMMIT_DATE = "2024-01-01T00:00:00.000Z"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class HubFile:
    data: bytes
    lfs: bool

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.lfs else git_blob_sha1(self.data)

    def entry(self, path: str, sha: str, expand: bool) -> dict:
        entry = {"type": "file", "oid": git_blob_sha1(self.lfs_pointer() if self.lfs else self.data),
                 "size": len(self.data), "path": path}
        if self.lfs:
            entry["lfs"] = {"oid": hashlib.sha256(self.data).hexdigest(), "size": len(self.data),
                            "pointerSize": len(self.lfs_pointer())}
        if expand:
            entry["lastCommit"] = {"id": sha, "title": "Upload", "date": COMMIT_DATE}
            entry["securityFileStatus"] = {"status": "safe", "avScan": {"virusFound": False},
                                           "pickleImportScan": {"highestSafetyLevel": "innocuous", "imports": []}}
        return entry

    def lfs_pointer(self) -> bytes:
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(self.data).hexdigest()}\n"
                f"size {len(self.data)}\n").encode()


@dataclass
class HubRepo:
    """One repository at one commit: ``files`` maps paths in the repository to their bytes."""

    repo_type: str  # "model" or "dataset"
    repo_id: str
    sha: str
    files: dict[str, bytes]
    card_data: dict | None = None
    _files: dict[str, HubFile] = field(init=False, repr=False)

    def __post_init__(self):
        if self.repo_type not in ("model", "dataset"):
            raise ValueError(f"repo_type {self.repo_type!r}")
        if len(self.sha) != 40:
            raise ValueError(f"{self.repo_id}: a commit sha has 40 hex digits, not {self.sha!r}")
        self._files = {path: HubFile(data, path.endswith(LFS_SUFFIXES)) for path, data in self.files.items()}

    def folders(self) -> set[str]:
        return {"/".join(path.split("/")[:i]) for path in self._files for i in range(1, path.count("/") + 1)}

    def entry(self, path: str, expand: bool) -> dict | None:
        if path in self._files:
            return self._files[path].entry(path, self.sha, expand)
        if path in self.folders():
            entry = {"type": "directory", "oid": git_blob_sha1(path.encode()), "size": 0, "path": path}
            if expand:
                entry["lastCommit"] = {"id": self.sha, "title": "Upload", "date": COMMIT_DATE}
            return entry
        return None

    def listing(self, folder: str, recursive: bool, expand: bool) -> list[dict] | None:
        prefix = f"{folder}/" if folder else ""
        if folder and folder not in self.folders():
            return None
        paths = sorted(p for p in self.folders() | set(self._files) if p.startswith(prefix))
        if not recursive:
            paths = [p for p in paths if "/" not in p[len(prefix):]]
        # The hub lists folders before files.
        entries = [self.entry(p, expand) for p in paths]
        return sorted(entries, key=lambda e: (e["type"] != "directory", e["path"]))

    def info(self, blobs: bool) -> dict:
        siblings = []
        for path, file in sorted(self._files.items()):
            sibling = {"rfilename": path}
            if blobs:
                sibling["size"] = len(file.data)
                sibling["blobId"] = git_blob_sha1(file.data)
                if file.lfs:
                    sibling["lfs"] = {"sha256": file.etag, "size": len(file.data),
                                      "pointerSize": len(file.lfs_pointer())}
            siblings.append(sibling)
        info = {"_id": hashlib.md5(self.repo_id.encode()).hexdigest()[:24], "id": self.repo_id,
                "author": self.repo_id.split("/")[0], "sha": self.sha, "lastModified": COMMIT_DATE,
                "createdAt": COMMIT_DATE, "private": False, "gated": False, "disabled": False,
                "downloads": 0, "likes": 0, "tags": [], "siblings": siblings}
        if self.repo_type == "model":
            info["modelId"] = self.repo_id
        if self.card_data is not None:
            info["cardData"] = self.card_data
        return info


class HubServer:
    """``with HubServer(repos) as hub:`` serves ``repos`` at ``hub.url`` until the block ends."""

    def __init__(self, repos: list[HubRepo]):
        self.repos = {(r.repo_type, r.repo_id): r for r in repos}
        # (method, path with query, status, X-Error-Code or None) of every request, in order
        self.requests: list[tuple[str, str, int, str | None]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HubServer:
        hub = self

        class Handler(_Handler):
            server_hub = hub

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def record(self, method: str, path: str, status: int, code: str | None) -> None:
        with self._lock:
            self.requests.append((method, path, status, code))


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _Handler(BaseHTTPRequestHandler):
    server_hub: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: requests are recorded instead
        pass

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    # --- routing ------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, code = 500, None
        try:
            status = self._route(method, url.path, query, body)
        except _HubError as e:
            status, code = e.status, e.code
            headers = {"X-Error-Message": e.message} | ({"X-Error-Code": e.code} if e.code else {})
            self._send(e.status, json.dumps({"error": e.message}).encode(), "application/json", method, headers)
        except Exception as e:  # a bug here must show in the client, not hang it
            self._send(500, json.dumps({"error": repr(e)}).encode(), "application/json", method, {})
            raise
        finally:
            self.server_hub.record(method, self.path, status, code)

    def _route(self, method: str, path: str, query: dict, body: bytes) -> int:
        parts = path.split("/")[1:]
        if parts[:1] == ["api"] and len(parts) >= 4 and parts[1] in ("models", "datasets"):
            repo_type = parts[1][:-1]
            repo_id = f"{parts[2]}/{parts[3]}"
            if len(parts) == 4:  # no revision: the hub would answer for main
                raise _HubError(404, "RevisionNotFound", f"{repo_id}: only pinned commits are served, not main")
            if len(parts) < 6:
                raise _HubError(404, None, f"no route for {path}")
            op, revision, rest = parts[4], unquote(parts[5]), unquote("/".join(parts[6:]))
            repo = self._repo(repo_type, repo_id, revision)
            if op == "revision" and method == "GET":
                blobs = query.get("blobs", "").lower() == "true"
                return self._json(repo.info(blobs), method)
            if op == "tree" and method == "GET":
                listing = repo.listing(rest.strip("/"), query.get("recursive", "").lower() == "true",
                                       query.get("expand", "").lower() == "true")
                if listing is None:
                    raise _HubError(404, "EntryNotFound", f"{rest} does not exist in {repo_id}@{revision}")
                return self._json(listing, method)
            if op == "paths-info" and method == "POST":
                form = parse_qs(body.decode())
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    form = {k: v if isinstance(v, list) else [v] for k, v in json.loads(body).items()}
                expand = str(form.get("expand", ["false"])[-1]).lower() == "true"
                entries = [repo.entry(p.strip("/"), expand) for p in form.get("paths", [])]
                return self._json([e for e in entries if e is not None], method)
            raise _HubError(404, None, f"no route for {method} {path}")
        if parts[:1] == ["datasets"]:
            repo_type, parts = "dataset", parts[1:]
        else:
            repo_type = "model"
        if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
            repo_id, revision, file = f"{parts[0]}/{parts[1]}", unquote(parts[3]), unquote("/".join(parts[4:]))
            repo = self._repo(repo_type, repo_id, revision)
            hub_file = repo._files.get(file)
            if hub_file is None:
                raise _HubError(404, "EntryNotFound", f"{file} does not exist in {repo_id}@{revision}")
            return self._file(repo, hub_file, method)
        raise _HubError(404, None, f"no route for {method} {path}")

    def _repo(self, repo_type: str, repo_id: str, revision: str) -> HubRepo:
        repo = self.server_hub.repos.get((repo_type, repo_id))
        if repo is None:
            raise _HubError(404, "RepoNotFound", f"{repo_type} repository {repo_id} not found")
        if revision != repo.sha:
            raise _HubError(404, "RevisionNotFound", f"{repo_id}: revision {revision!r} not found "
                                                     f"(this stand-in serves only {repo.sha})")
        return repo

    # --- responses ----------------------------------------------------------------------

    def _json(self, obj, method: str) -> int:
        self._send(200, json.dumps(obj).encode(), "application/json; charset=utf-8", method, {})
        return 200

    def _file(self, repo: HubRepo, file: HubFile, method: str) -> int:
        headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{file.etag}"', "Accept-Ranges": "bytes"}
        if file.lfs:
            headers["X-Linked-Etag"] = f'"{file.etag}"'
            headers["X-Linked-Size"] = str(len(file.data))
        data, status = file.data, 200
        spec = self.headers.get("Range", "")
        if spec.startswith("bytes=") and method == "GET":
            first, _, last = spec[len("bytes="):].split(",")[0].partition("-")
            size = len(file.data)
            start, end = (size - int(last), size - 1) if first == "" else (int(first), int(last) if last else size - 1)
            end = min(end, size - 1)
            if start >= size or start > end:
                self._send(416, b"", "text/plain", method, {"Content-Range": f"bytes */{size}"})
                return 416
            data, status = file.data[start:end + 1], 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send(status, data, "application/octet-stream", method, headers)
        return status

    def _send(self, status: int, data: bytes, content_type: str, method: str, headers: dict) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)
