"""Debian's podman and buildah, each run with state of its own under a test's tmp dir.

As root with the `vfs` storage driver they pull, push and commit images with no container
runtime: nothing is run in a container. Storage root, run root, libpod's tmp dir,
registries config and auth file all live in the given folder, so a test never touches the
machine's default storage or credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TIMEOUT = 180


class ContainerTools:
    """podman and buildah over one private storage folder and one auth file."""

    def __init__(self, folder: Path, registry, auth_file: Path | None = None) -> None:
        for tool in ("podman", "buildah"):
            if shutil.which(tool) is None:
                pytest.fail(f"{tool} is not installed (make test-deps installs it)")
        self.registry = registry
        self.folder = folder
        for part in ("root", "tmp", "libpod"):
            (folder / part).mkdir(parents=True, exist_ok=True)
        # podman refuses a run root longer than 50 characters (a pytest tmp dir is longer)
        self.run_root = Path(tempfile.mkdtemp(prefix="tm-podrun-"))
        (folder / "registries.conf").write_text("unqualified-search-registries = []\n")
        (folder / "storage.conf").write_text(
            f'[storage]\ndriver = "vfs"\nrunroot = "{self.run_root}"\ngraphroot = "{folder / "root"}"\n')
        (folder / "policy.json").write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        self.auth_file = auth_file or folder / "auth.json"
        if not self.auth_file.exists():
            self.auth_file.write_text('{"auths": {}}')
        self.env = {**os.environ, "CONTAINERS_REGISTRIES_CONF": str(folder / "registries.conf"),
                    "CONTAINERS_STORAGE_CONF": str(folder / "storage.conf"),
                    "REGISTRY_AUTH_FILE": str(self.auth_file), "TMPDIR": str(folder / "tmp")}
        self.storage = ["--root", str(folder / "root"), "--runroot", str(self.run_root),
                        "--storage-driver", "vfs"]

    def close(self) -> None:
        shutil.rmtree(self.run_root, ignore_errors=True)

    def _run(self, command: list[str], check: bool, stdin: str | None) -> subprocess.CompletedProcess:
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=TIMEOUT,
                                input=stdin, cwd=self.folder)
        if check and result.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` exited {result.returncode}\n"
                        f"--- stderr ---\n{result.stderr[-4000:]}\n"
                        f"--- registry log ---\n{self.registry.log_tail()}")
        return result

    def podman(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        command = ["podman", *self.storage, "--tmpdir", str(self.folder / "libpod"),
                   "--events-backend", "none", "--cgroup-manager", "cgroupfs", *args]
        return self._run(command, check, stdin)

    def buildah(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run(["buildah", *self.storage, *args], check, None)

    def login(self, user: str, password: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.podman("login", "--tls-verify=false", "-u", user, "--password-stdin",
                           self.registry.host, check=check, stdin=password)

    def build(self, name: str, arch: str, content: str) -> str:
        """`buildah from scratch` + `copy` + `config --arch` + `commit`: a one-layer image for
        `arch`; its image id (the config digest, without `sha256:`)."""
        container = self.buildah("from", "scratch").stdout.strip()
        source = self.folder / f"{arch}.txt"
        source.write_text(content)
        self.buildah("copy", container, str(source), f"/{arch}.txt")
        self.buildah("config", "--arch", arch, "--os", "linux", "--author", "e2e",
                     "--created-by", f"copy {arch}.txt", container)
        image_id = self.buildah("commit", "-q", "--signature-policy", str(self.folder / "policy.json"),
                                container, name).stdout.strip()
        self.buildah("rm", container)
        return image_id

    def image(self, ref: str) -> dict:
        return json.loads(self.podman("image", "inspect", ref).stdout)[0]
