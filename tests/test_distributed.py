"""Data-parallel and population-parallel `fit` on 8 simulated CPU devices equals 1 device."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np, optax
    from jax.sharding import Mesh
    from genjax.models import Autoencoder, make_reconstruction_loss
    from genjax.corruption import make_corruption
    from genjax.train import TrainState, fit, init_population, make_train_step

    assert jax.device_count() == 8, jax.devices()
    x = jax.random.uniform(jax.random.key(0), (512, 16))
    model = Autoencoder(16, (32,), 4)
    tx = optax.adam(1e-2)
    # noise makes the step depend on random numbers drawn for the whole (sharded) batch
    loss = make_reconstruction_loss(model, likelihood="gaussian",
                                    corrupt=make_corruption("gaussian", 0.1))
    step = make_train_step(loss, tx)
    init = lambda k: model.init(k, x[:1])["params"]
    kw = dict(num_steps=60, batch_size=64, steps_per_call=20, progress=False)

    def single(mesh):
        state = TrainState.create(init(jax.random.key(1)), tx)
        return fit(step, state, x, jax.random.key(2), mesh=mesh, **kw)[0]

    def population(mesh):
        keys = jax.random.split(jax.random.key(3), 8)
        state = init_population(init, tx, keys)
        return fit(step, state, x, jax.random.split(jax.random.key(4), 8), population=True,
                   mesh=mesh, **kw)[0]

    def close(a, b):
        for u, v in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
            np.testing.assert_allclose(u, v, rtol=2e-4, atol=2e-5)

    devices = np.array(jax.devices())
    one = Mesh(devices[:1], ("data",))
    data_parallel = single(Mesh(devices, ("data",)))
    assert len(data_parallel.params["encoder"]["mlp"]["dense_0"]["kernel"].devices()) == 8
    close(single(None), data_parallel)
    close(single(one), data_parallel)
    sharded = population(Mesh(devices.reshape(4, 2), ("pop", "data")))
    assert sharded.params["encoder"]["mlp"]["dense_0"]["kernel"].sharding.spec[0] == "pop"
    close(population(None), sharded)
    print("EQUAL")
""")


def test_eight_devices_match_one():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0 and "EQUAL" in result.stdout, result.stderr[-3000:]
