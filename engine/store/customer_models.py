"""Zones, customers and contracts (seed 003 第1篇 客户服务经理制; seed 001 质保期).

服务站 (station) → 维护组 (maintenance group: 3–5 zones, a leader; its members are an app group) → 片区
(zone: one 社区经理, the number of users it serves). A request gets its zone from the zone mapping table
(organisation or address patterns); engine.desk.zones looks it up and routes tasks by it. Customers
(organisations) have contacts, the people who act for them and users of their own; contracts carry the
warranty, the SLA level agreed and (in health_check_schedule, by contract code) the inspection cycle.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine import clock
from engine.store.models import Base, ServiceCase


class ServiceStation(Base):
    """服务站: runs the maintenance groups of its area."""

    __tablename__ = "service_station"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class MaintenanceGroup(Base):
    """维护组: 3–5 zones, a leader (组长) who takes escalations; its members are the app group `group_id`."""

    __tablename__ = "maintenance_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    station_id: Mapped[int] = mapped_column(ForeignKey("service_station.id"))
    group_id: Mapped[str] = mapped_column(ForeignKey("app_group.id"))  # the candidate group of its tasks
    leader: Mapped[str | None] = mapped_column(String(100))  # username


class Zone(Base):
    """片区: one community manager (社区经理, who takes its on-site work) and the users it serves."""

    __tablename__ = "zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    maintenance_group_id: Mapped[int] = mapped_column(ForeignKey("maintenance_group.id"))
    manager: Mapped[str | None] = mapped_column(String(100))  # username of the 社区经理
    user_count: Mapped[int] = mapped_column(Integer, default=0)


class ZoneMapping(Base):
    """One row of the mapping table: an organisation or address containing `pattern` is in the zone."""

    __tablename__ = "zone_mapping"
    __table_args__ = (UniqueConstraint("kind", "pattern", name="uq_zone_mapping_kind_pattern"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # engine.desk.zones.MAPPING_KINDS
    pattern: Mapped[str] = mapped_column(String(200))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id", ondelete="CASCADE"))
    updated_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(default=clock.now)


class Customer(Base):
    """客户档案: an organisation and who acts for it."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # the organisation
    address: Mapped[str | None] = mapped_column(String(300))
    customer_type: Mapped[str | None] = mapped_column(String(40))
    vip_tier: Mapped[str] = mapped_column(String(20), default="standard")  # engine.desk.customers.VIP_TIERS
    interface_person: Mapped[str | None] = mapped_column(String(200))  # 接口负责人, by name
    need_owner: Mapped[str | None] = mapped_column(String(100))  # 用户需求负责人 (username): grants permission
    service_specialist: Mapped[str | None] = mapped_column(String(100))  # 客服专员 (username)


class CustomerContact(Base):
    """A contact person of a customer."""

    __tablename__ = "customer_contact"
    __table_args__ = (Index("ix_customer_contact_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))


class CustomerUser(Base):
    """A user account of a customer's staff: their requests belong to that customer."""

    __tablename__ = "customer_user"
    __table_args__ = (Index("ix_customer_user_customer", "customer_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))


class Contract(Base):
    """运维合同: warranty from acceptance (3 years unless agreed otherwise), the SLA level agreed, and —
    in health_check_schedule, keyed by this code — the inspection cycle."""

    __tablename__ = "contract"
    __table_args__ = (Index("ix_contract_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    title: Mapped[str] = mapped_column(String(200))
    accepted_on: Mapped[dt.date] = mapped_column(Date)  # 验收合格 (acceptance certificate signed)
    warranty_until: Mapped[dt.date] = mapped_column(Date)
    sla_level: Mapped[str | None] = mapped_column(String(10))  # a row of sla_policy (fault level), or none


# Reports and the inbox filter cases by zone and by customer (engine.desk.inbox, engine.desk.zones).
Index("ix_service_case_zone", ServiceCase.zone)
Index("ix_service_case_customer", ServiceCase.customer_id)
