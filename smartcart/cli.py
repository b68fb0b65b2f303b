"""The one command line for both roles: ``smartcart <group> <command>``.

Each group lives beside the code it drives and imports only typer at module level: heavy
imports (onnxruntime, SQLAlchemy, torch) happen inside commands, so the cart never loads host
code and ``smartcart --help`` stays instant.
"""

from __future__ import annotations

import typer

from firmware.cli import app as cart_app
from host.cli import app as host_app
from host.demo import demo
from host.sim.cli import app as sim_app
from models.cli import app as models_app
from smartcart.contract.cli import app as contract_app
from smartcart.feed.cli import score

app = typer.Typer(
    help="smartcart: a smart shopping cart (Pi vision + load cells) and its checkout host.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cart_app, name="cart", help="Runs on the cart: live pipeline, record, replay, bench.")
app.add_typer(host_app, name="host", help="Runs in the store: checkout service, API, broker.")
app.add_typer(sim_app, name="sim", help="Render simulated cart feeds and training data.")
app.add_typer(models_app, name="models", help="Train, export, evaluate and benchmark the models.")
app.add_typer(contract_app, name="contract", help="The MQTT wire contract: export schemas.")
app.command("score", help="Score replay output against a feed's truth (cartfeed/1).")(score)
app.command("demo", help="Run the whole system on embedded defaults and print a receipt.")(demo)
