"""`--ray [ADDRESS]`: shards on Ray actors across a cluster (the `rollcall[ray]` extra).

Each actor hosts a WorkerSession (worker.py): its own target and connections, built from the
TargetRecipe it is given (the API key travels in the recipe, explicitly; no environment is sent),
its own event loop and monotonic clock. Actors are placed one per CPU by default, round-robin
over the cluster's nodes (so two workers on a two-node cluster land on both), pinned to their
node, and ask for no CPU (they mostly wait on sockets; a reservation would leave them pending on
small clusters). The coordinator polls each actor for batches (`take`), which doubles as its
heartbeat; an actor whose node died fails its call, and its shards' in-flight requests are lost
(remote.py). rollcall must be installed, at the same version, on every node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from .. import __version__
from ..safetext import one_line
from .remote import RemoteExecutor, WorkerError
from .shard import BATCH_INTERVAL_S
from .target import TargetRecipe

RAY_MISSING = "--ray: Ray is not installed; install it with: pip install 'rollcall[ray]'"
DEFAULT_ADDRESS = "default"  # `--ray` without an address: what ray.init() finds, else a new local Ray
START_TIMEOUT_S = 120.0  # an actor's process is started, imports rollcall and builds its target
CLOSE_TIMEOUT_S = 5.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise WorkerError(RAY_MISSING) from None
    return ray


class LoadActor:
    """The actor's body (made a Ray actor class lazily: importing this module needs no Ray)."""

    def __init__(self) -> None:
        from ..fdlimit import raise_soft_limit

        raise_soft_limit()
        self.session: Any = None

    async def setup(self, recipe: TargetRecipe, prompts: tuple[Any, ...]) -> dict[str, Any]:
        from .worker import WorkerSession, worker_info

        self.session = WorkerSession(recipe, prompts)
        return worker_info()

    async def start(self, plan: Any) -> None:
        self.session.start(plan)

    async def stop(self, stage: int) -> None:
        self.session.stop(stage)

    async def take(self, wait_s: float) -> list[tuple[Any, ...]]:
        return await self.session.take(wait_s)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.aclose()


def slots(nodes: list[dict[str, Any]]) -> list[str]:
    """Node ids, one per CPU, round-robin over the nodes: the first N are where N actors go."""
    cpus = {n["NodeID"]: int(n.get("Resources", {}).get("CPU", 0)) for n in nodes if n.get("Alive")}
    order: list[str] = []
    for round_ in range(max(cpus.values(), default=0)):
        order += [node for node, count in cpus.items() if count > round_]
    return order


def _why(exc: BaseException) -> str:
    """A Ray failure in one line (Ray's own messages run to paragraphs)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return one_line(f"failed ({type(exc).__name__}{': ' + first if first else ''})", 160)


class RayWorker:
    """One actor, and the task that polls it into the executor's queue."""

    def __init__(self, index: int, actor: Any, node_id: str, queue: asyncio.Queue[Any]) -> None:
        self.index = index
        self.actor = actor
        self.node_id = node_id
        self.name = f"actor {index + 1} (node {node_id[:8]})"
        self.alive = True
        self.heard = time.monotonic()
        self.host = ""
        self.queue = queue
        self.on_death = lambda node_id: None
        self._poll: asyncio.Task[None] | None = None

    async def handshake(self, recipe: TargetRecipe, prompts: Any) -> dict[str, Any]:
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                info = await self.actor.setup.remote(recipe, prompts)
        except TimeoutError:
            raise WorkerError(f"{self.name} was not ready within {START_TIMEOUT_S:g} s") from None
        except Exception as exc:  # noqa: BLE001 - Ray's errors, told in one line
            raise WorkerError(f"{self.name} could not start: {_why(exc)}") from None
        self.host = one_line(str(info.get("host", "")), 80)
        self.name = f"actor {self.index + 1} on {self.host} (node {self.node_id[:8]})"
        if info.get("version") != __version__:
            raise WorkerError(f"{self.name} runs rollcall {one_line(str(info.get('version')), 40)}, this is "
                              f"{__version__}: install the same version on every node")
        self._poll = asyncio.ensure_future(self._polling())
        return info

    async def _polling(self) -> None:
        while True:
            try:
                messages = await self.actor.take.remote(BATCH_INTERVAL_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the actor or its node is gone
                self.alive = False
                self.on_death(self.node_id)
                self.queue.put_nowait((self, ("dead", _why(exc))))
                return
            for message in messages:
                self.queue.put_nowait((self, message))

    def send(self, message: tuple[Any, ...]) -> None:
        verb = message[0]
        if not self.alive:
            return
        if verb == "run":
            self.actor.start.remote(message[1])
        elif verb == "stop":
            self.actor.stop.remote(message[1])

    def kill(self) -> None:
        import ray

        try:
            ray.kill(self.actor, no_restart=True)
        except Exception:  # noqa: BLE001 - already gone
            pass

    async def aclose(self) -> None:
        if self.alive:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self.actor.close.remote()
            except Exception:  # noqa: BLE001 - it is killed next anyway
                pass
        if self._poll is not None:
            self._poll.cancel()
            await asyncio.gather(self._poll, return_exceptions=True)
        self.kill()
        self.alive = False


class RayExecutor(RemoteExecutor):
    """Workers as Ray actors: `workers` of them (default one per CPU of the cluster)."""

    start_lead_s = 0.5  # plans cross the network before the stage starts

    def __init__(self, recipe: TargetRecipe, prompts: tuple[Any, ...], *, address: str = DEFAULT_ADDRESS,
                 workers: int | None = None) -> None:
        super().__init__(workers or 1)
        self.requested = workers
        self.recipe = recipe
        self.prompts = prompts
        self.address = address
        self.owns_ray = False  # we connected (and disconnect at the end)
        self.nodes: list[str] = []
        self.bad_nodes: set[str] = set()  # where an actor died: not used again in this run
        self._prompts_ref: Any = None
        self._actor_class: Any = None

    def connect(self) -> None:
        """Connect to (or start) Ray, synchronously: before any signal handlers of our own are set,
        since ray.init sets its own for SIGTERM. A Ray already initialised here is used as it is."""
        ray = import_ray()
        if ray.is_initialized():
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        address = None if self.address == DEFAULT_ADDRESS else self.address
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        if address in (None, "local"):
            kwargs["include_dashboard"] = False
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = self.address if address else "a local or RAY_ADDRESS cluster"
            raise WorkerError(f"--ray: cannot connect to Ray at {where}: {one_line(str(exc), 200)}") from None
        self.owns_ray = True

    def describe(self) -> dict[str, Any]:
        return {"executor": "ray", "workers": self.workers, "nodes": len(set(self.nodes))}

    async def start(self) -> None:
        ray = import_ray()
        if not ray.is_initialized():
            self.connect()
        placement = slots(ray.nodes())
        if not placement:
            raise WorkerError("--ray: the cluster has no node with a CPU to place workers on")
        self.workers = self.requested or len(placement)
        self.nodes = [placement[i % len(placement)] for i in range(self.workers)]
        self._prompts_ref = ray.put(self.prompts)  # once, however many actors read it
        await super().start()

    async def _spawn(self, index: int) -> RayWorker:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        node = self.nodes[index]
        if node in self.bad_nodes:  # a replacement for a worker that died there: another node
            # (Ray may not have noticed yet that the node is gone.)
            choices = [n for n in slots(ray.nodes()) if n not in self.bad_nodes]
            if not choices:
                raise WorkerError("no Ray node is left")
            node = self.nodes[index] = choices[index % len(choices)]
        if self._actor_class is None:  # made once per run: Ray exports a class each time it is made
            self._actor_class = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(LoadActor)
        actor = self._actor_class.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False),
            name=None,
        ).remote()
        worker = RayWorker(index, actor, node, self.queue)
        worker.on_death = self.bad_nodes.add
        try:
            await worker.handshake(self.recipe, self._prompts_ref)
        except BaseException:
            await worker.aclose()
            raise
        return worker

    async def aclose(self) -> None:
        await super().aclose()
        if self.owns_ray:
            import ray

            ray.shutdown()
            self.owns_ray = False
