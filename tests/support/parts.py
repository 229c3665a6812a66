"""Put parts in a service centre's store, for tests whose steps use parts (engine.desk.parts books
`parts_used` out of the catalogue's stock and refuses parts it does not know)."""
from __future__ import annotations

from sqlalchemy import select

from engine.desk import parts
from engine.store.db import Database
from engine.store.parts_models import Part, ServiceCentre
from engine.users import Actor

KEEPER = Actor("stock-keeper", frozenset({"service_manager"}))
CENTRE = ("SZ", "深圳服务中心")


def stock_parts(db: Database, quantities: dict[str, int], *, price_yuan: float = 10) -> None:
    """Each named part (its name is its number and label) received into the centre in that quantity."""
    with db.transaction() as session:
        if session.scalar(select(ServiceCentre.id).where(ServiceCentre.code == CENTRE[0])) is None:
            parts.add_centre(session, code=CENTRE[0], name=CENTRE[1], actor=KEEPER)
        for name, quantity in quantities.items():
            if session.scalar(select(Part.id).where(Part.code == name)) is None:
                parts.add_part(session, code=name, label=name, unit_price_yuan=price_yuan, actor=KEEPER)
            parts.receive(session, part=name, centre=CENTRE[0], quantity=quantity, actor=KEEPER)
