# ruff: noqa: E501  (a table of Chinese phrases: wide characters count twice, and wrapping them reads worse)
"""Real-looking Chinese knowledge-base solutions and searches with known answers (bench/kb.py, bench/kb_engines.py).

A solution is one fault scenario — a system, a device type and a symptom — written up with a cause and a
fix. A search is what an engineer or a user types about one scenario: the system's short name or its
device, words of the symptom in another order, filler such as 怎么办. Its answers are every solution of
the scenario (or, for a search naming no system, every solution with the symptom), so recall is exact.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

# (system name, short names users type, device type value of forms.registry.DEVICE_TYPE_CHOICES, kind of system)
SYSTEMS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    ("门诊 HIS 系统", ("HIS", "门诊系统"), "software", "app"),
    ("住院 HIS 系统", ("HIS", "住院系统"), "software", "app"),
    ("LIS 检验系统", ("LIS", "检验系统"), "software", "app"),
    ("PACS 影像系统", ("PACS", "影像系统"), "software", "app"),
    ("电子病历系统", ("电子病历", "EMR"), "software", "app"),
    ("医保结算系统", ("医保结算", "医保"), "software", "app"),
    ("OA 办公系统", ("OA", "办公系统"), "software", "app"),
    ("财务系统", ("财务系统", "财务软件"), "software", "app"),
    ("用友 U8", ("用友", "U8"), "software", "app"),
    ("金蝶 K3", ("金蝶", "K3"), "software", "app"),
    ("邮件系统", ("邮箱", "邮件"), "software", "app"),
    ("教务管理系统", ("教务系统", "教务"), "software", "app"),
    ("政务服务平台", ("政务平台", "政务服务"), "software", "app"),
    ("社保业务系统", ("社保系统", "社保"), "software", "app"),
    ("排队叫号系统", ("叫号系统", "排队机"), "software", "app"),
    ("一卡通系统", ("一卡通", "校园卡"), "software", "app"),
    ("ERP 系统", ("ERP",), "software", "app"),
    ("CRM 系统", ("CRM", "客户管理系统"), "software", "app"),
    ("Oracle 数据库", ("Oracle", "甲骨文数据库"), "software", "db"),
    ("MySQL 数据库", ("MySQL",), "software", "db"),
    ("SQL Server 数据库", ("SQL Server", "SQLServer"), "software", "db"),
    ("达梦数据库", ("达梦", "DM8"), "software", "db"),
    ("核心交换机", ("核心交换机", "交换机"), "network", "net"),
    ("接入交换机", ("接入交换机", "楼层交换机"), "network", "net"),
    ("出口路由器", ("路由器", "出口路由"), "network", "net"),
    ("防火墙", ("防火墙",), "network", "net"),
    ("无线 AP", ("无线", "WiFi"), "network", "wifi"),
    ("VPN 网关", ("VPN",), "network", "vpn"),
    ("应用服务器", ("应用服务器", "服务器"), "host", "host"),
    ("数据库服务器", ("数据库服务器", "DB服务器"), "host", "host"),
    ("虚拟化平台", ("虚拟化", "VMware"), "host", "host"),
    ("域控服务器", ("域控", "AD域"), "host", "host"),
    ("磁盘阵列", ("磁盘阵列", "存储阵列"), "storage", "storage"),
    ("NAS 存储", ("NAS", "共享存储"), "storage", "storage"),
    ("UPS 电源", ("UPS", "不间断电源"), "power", "power"),
    ("机房配电柜", ("配电柜", "机房供电"), "power", "power"),
    ("前端摄像头", ("摄像头", "监控摄像机"), "camera", "camera"),
    ("硬盘录像机", ("录像机", "NVR"), "dvr", "dvr"),
    ("话务座席", ("座席", "坐席"), "call_seat", "seat"),
    ("MAS 短信终端", ("MAS", "短信终端"), "mas_terminal", "mas"),
    ("网络打印机", ("打印机", "网络打印机"), "other", "printer"),
    ("激光打印机", ("打印机", "激光打印机"), "other", "printer"),
    ("自助挂号机", ("自助机", "挂号机"), "host", "kiosk"),
    ("办公电脑", ("电脑", "PC"), "host", "pc"),
)

# Per kind of system: (symptom phrase as written, words a searcher uses, causes, fixes).
Symptom = tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
SYMPTOMS: dict[str, tuple[Symptom, ...]] = {
    "app": (
        ("登录超时", ("登录超时", "登录 超时", "登不上"), ("数据库连接池耗尽", "应用服务器负载过高"),
         ("调大连接池上限并重启应用服务", "扩容应用服务器并开启负载均衡")),
        ("页面报 500 错误", ("500错误", "页面报错 500", "500"), ("应用日志目录写满", "配置文件被覆盖"),
         ("清理日志并配置日志轮转", "从备份恢复配置文件")),
        ("报表导出失败", ("报表导出", "导出失败", "导出报表"), ("导出模板缺失", "临时目录权限不足"),
         ("重新部署导出模板", "修改临时目录权限")),
        ("证书过期无法访问", ("证书过期", "证书过期无法访问"), ("SSL 证书到期未续签",), ("申请新证书并替换",)),
        ("账号被锁定", ("账号锁定", "账户锁定", "锁定"), ("连续输错密码触发锁定策略",), ("解锁账号并重置密码",)),
        ("升级后无法启动", ("升级后 启动不了", "升级失败", "无法启动"), ("升级脚本未执行完整",),
         ("回滚到上一版本后重新执行升级脚本",)),
        ("中文乱码", ("乱码", "中文乱码"), ("字符集配置为 Latin1",), ("统一字符集为 UTF-8",)),
        ("接口调用失败", ("接口调用失败", "接口报错"), ("对方接口地址变更", "接口令牌失效"),
         ("更新接口地址配置", "重新申请接口令牌")),
        ("数据库连接超时", ("数据库连接超时", "连接超时", "连不上数据库"), ("数据库监听异常", "防火墙拦截 1521 端口"),
         ("重启监听服务", "放通数据库端口")),
        ("打印票据空白", ("打印空白", "票据打印"), ("打印模板缺少字体",), ("安装缺失字体",)),
    ),
    "db": (
        ("数据库连接超时", ("数据库连接超时", "连接超时", "连不上"), ("监听程序未启动", "连接数达到上限"),
         ("启动监听程序", "调整最大连接数")),
        ("表空间不足", ("表空间不足", "表空间满", "表空间"), ("数据文件未开启自动扩展",), ("增加数据文件并开启自动扩展",)),
        ("出现死锁", ("死锁", "锁表"), ("两个事务交叉更新同一批记录",), ("调整更新顺序并杀掉阻塞会话",)),
        ("归档日志满", ("归档日志满", "归档满", "归档日志"), ("归档未定期清理",), ("备份后删除过期归档并设置清理任务",)),
        ("主从同步延迟", ("主从延迟", "同步延迟", "主从同步"), ("从库磁盘 IO 过高",), ("更换从库磁盘并开启并行复制",)),
        ("查询缓慢", ("查询慢", "SQL 慢", "查询缓慢"), ("缺少索引", "统计信息过旧"), ("创建索引", "重新收集统计信息")),
        ("无法启动", ("启动失败", "无法启动"), ("控制文件损坏",), ("用备份控制文件恢复",)),
        ("备份失败", ("备份失败", "备份报错"), ("备份目录空间不足",), ("清理备份目录并扩容",)),
    ),
    "net": (
        ("端口 down", ("端口down", "端口 down", "端口不通"), ("光模块老化", "网线松动"), ("更换光模块", "重新压制网线")),
        ("端口频繁闪断", ("端口闪断", "频繁断开", "闪断"), ("端口双工不匹配",), ("两端统一为自协商",)),
        ("丢包严重", ("丢包", "丢包严重"), ("链路拥塞",), ("配置 QoS 并扩容链路",)),
        ("网络延迟高", ("延迟高", "网络慢", "网速慢"), ("广播风暴",), ("开启环路检测并关闭环路端口",)),
        ("无法获取 IP 地址", ("获取不到IP", "无法获取 IP", "DHCP"), ("DHCP 地址池耗尽",), ("扩大地址池并缩短租期",)),
        ("VLAN 不通", ("VLAN 不通", "VLAN"), ("Trunk 未放行该 VLAN",), ("在 Trunk 上放行 VLAN",)),
        ("设备 CPU 利用率高", ("CPU 高", "CPU 利用率"), ("ARP 攻击",), ("开启 ARP 防护并定位攻击源",)),
        ("无法远程登录管理", ("无法登录管理", "SSH 登录不了", "远程管理"), ("管理 ACL 配置错误",), ("修正管理 ACL",)),
    ),
    "wifi": (
        ("信号弱", ("信号弱", "信号差"), ("AP 信道干扰",), ("调整信道和发射功率",)),
        ("频繁掉线", ("掉线", "频繁掉线"), ("AP 负载过高",), ("增加 AP 并开启负载均衡",)),
        ("无法获取 IP 地址", ("获取不到IP", "无法获取 IP", "DHCP"), ("DHCP 地址池耗尽",), ("扩大地址池并缩短租期",)),
    ),
    "vpn": (
        ("无法连接", ("连不上", "无法连接"), ("VPN 证书过期",), ("更新 VPN 证书",)),
        ("连接后无法访问内网", ("访问不了内网", "无法访问内网"), ("路由未下发",), ("补充下发内网路由",)),
        ("连接频繁断开", ("频繁断开", "断线"), ("会话超时设置过短",), ("延长会话超时",)),
    ),
    "host": (
        ("服务器宕机", ("宕机", "死机"), ("内核错误", "电源故障"), ("升级内核补丁", "更换电源模块")),
        ("CPU 使用率过高", ("CPU 高", "CPU 100%", "CPU 使用率"), ("杀毒软件全盘扫描",), ("调整扫描计划到夜间",)),
        ("内存溢出", ("内存溢出", "内存不足", "OOM"), ("应用内存泄漏",), ("升级应用版本并调整 JVM 参数",)),
        ("磁盘空间不足", ("磁盘满", "磁盘空间不足", "空间不足"), ("日志文件未清理",), ("清理日志并配置轮转",)),
        ("系统蓝屏", ("蓝屏",), ("驱动不兼容",), ("回退显卡驱动",)),
        ("无法开机", ("开不了机", "无法开机", "不开机"), ("主板电池耗尽", "电源损坏"), ("更换主板电池", "更换电源")),
        ("风扇告警", ("风扇告警", "风扇"), ("风扇积灰",), ("清灰并更换风扇",)),
        ("RAID 降级", ("RAID 降级", "阵列降级"), ("成员盘故障",), ("更换故障盘并重建 RAID",)),
        ("时间不同步", ("时间不同步", "时间不对", "NTP"), ("NTP 服务未配置",), ("配置 NTP 服务器",)),
    ),
    "pc": (
        ("无法上网", ("上不了网", "无法上网", "断网"), ("网卡驱动损坏",), ("重装网卡驱动",)),
        ("运行缓慢", ("电脑很卡", "运行慢", "卡顿"), ("开机启动项过多",), ("禁用多余启动项",)),
        ("中病毒", ("病毒", "中毒"), ("打开了钓鱼邮件附件",), ("隔离并查杀病毒",)),
        ("系统蓝屏", ("蓝屏",), ("内存条松动",), ("重新插拔内存条",)),
    ),
    "kiosk": (
        ("无法读卡", ("读卡失败", "不能读卡", "读卡"), ("读卡器脏污",), ("清洁读卡器",)),
        ("触摸屏失灵", ("触摸屏失灵", "屏幕点不动", "触摸屏"), ("触摸屏校准偏移",), ("重新校准触摸屏",)),
        ("凭条打印机卡纸", ("卡纸", "凭条卡纸"), ("纸卷安装不正",), ("重新安装纸卷",)),
    ),
    "storage": (
        ("硬盘故障告警", ("硬盘故障", "硬盘告警", "坏盘"), ("硬盘坏道",), ("更换硬盘并重建",)),
        ("LUN 无法挂载", ("LUN 挂载", "无法挂载"), ("主机映射丢失",), ("重新配置主机映射",)),
        ("存储容量不足", ("容量不足", "存储满"), ("快照占用过多空间",), ("删除过期快照并扩容",)),
        ("多路径失效", ("多路径", "路径失效"), ("光纤线缆损坏",), ("更换光纤线缆",)),
        ("控制器告警", ("控制器告警", "控制器"), ("控制器缓存电池失效",), ("更换缓存电池",)),
    ),
    "power": (
        ("UPS 告警", ("UPS 告警", "UPS 报警"), ("电池老化",), ("更换电池组",)),
        ("市电中断切换失败", ("切换失败", "市电中断", "停电"), ("旁路开关故障",), ("检修旁路开关",)),
        ("电源模块故障", ("电源模块", "电源故障"), ("模块过热",), ("更换电源模块并改善散热",)),
        ("输出电压异常", ("电压异常", "电压不稳"), ("逆变器故障",), ("更换逆变器",)),
    ),
    "camera": (
        ("画面黑屏", ("黑屏", "没有画面", "画面黑屏"), ("摄像头供电异常", "视频线损坏"), ("更换 POE 供电模块", "更换视频线")),
        ("视频卡顿", ("卡顿", "视频卡"), ("码流设置过高",), ("降低码流",)),
        ("云台无法控制", ("云台", "转不动"), ("云台控制线断开",), ("重新接线",)),
        ("夜视模糊", ("夜视模糊", "晚上看不清", "夜视"), ("红外灯损坏",), ("更换红外灯板",)),
        ("画面偏色", ("偏色", "颜色不对"), ("白平衡设置错误",), ("重置白平衡",)),
    ),
    "dvr": (
        ("无法录像", ("不录像", "无法录像"), ("硬盘未格式化",), ("格式化硬盘并开启录像计划",)),
        ("录像回放失败", ("回放失败", "无法回放", "回放"), ("录像文件索引损坏",), ("修复索引",)),
        ("通道离线", ("通道离线", "离线"), ("IP 地址冲突",), ("重新分配 IP 地址",)),
        ("硬盘满", ("硬盘满", "存储满"), ("未开启循环覆盖",), ("开启循环覆盖",)),
    ),
    "seat": (
        ("座席无法登录", ("无法登录", "登录不了", "签入失败"), ("工号被占用",), ("释放工号后重新签入",)),
        ("通话掉线", ("掉线", "通话中断"), ("SIP 注册过期",), ("缩短注册间隔",)),
        ("录音失败", ("录音失败", "没有录音", "录音"), ("录音服务器磁盘满",), ("清理录音服务器磁盘",)),
        ("耳麦没有声音", ("耳麦没声音", "没有声音", "耳麦"), ("耳麦驱动异常",), ("重装耳麦驱动",)),
    ),
    "mas": (
        ("短信发送失败", ("短信发不出去", "短信发送失败"), ("短信通道欠费", "网关地址变更"), ("续费通道", "更新网关地址")),
        ("终端离线", ("终端离线", "离线"), ("网络策略变更",), ("恢复网络策略",)),
        ("短信延迟", ("短信延迟", "短信慢"), ("队列积压",), ("清理积压队列",)),
    ),
    "printer": (
        ("打印机卡纸", ("卡纸", "打印机卡纸", "纸卡住了"), ("搓纸轮磨损", "纸张受潮"), ("更换搓纸轮", "更换干燥纸张")),
        ("打印模糊", ("打印模糊", "字迹不清"), ("硒鼓碳粉不足",), ("更换硒鼓",)),
        ("打印机脱机", ("脱机", "打印机脱机"), ("打印机 IP 变更",), ("重新添加打印机端口",)),
        ("驱动安装失败", ("驱动装不上", "驱动安装失败"), ("驱动与系统版本不符",), ("安装对应版本驱动",)),
        ("打印队列堵塞", ("打印队列", "打印任务卡住"), ("后台打印服务异常",), ("重启后台打印服务并清空队列",)),
        ("无法双面打印", ("双面打印",), ("未安装双面器",), ("安装双面器并在驱动中启用",)),
    ),
}

ORGANISATIONS = ("市第一人民医院", "市中医院", "区妇幼保健院", "市教育局", "第三中学", "市政务服务中心", "市社保局",
                 "高新区管委会", "市公安局指挥中心", "市烟草公司", "市自来水公司", "县人民医院")
PLACES = ("门诊楼三层", "住院部五层", "机房", "财务科", "收费处", "办公楼二层", "指挥大厅", "档案室", "急诊科", "信息科")
SINCE = ("今天早上", "昨晚开始", "升级之后", "停电恢复后", "下午三点起", "周一上班后")
FILLERS = ("怎么办", "怎么处理", "如何解决", "", "", "求助", "处理方法")
CATEGORIES = ("硬件", "软件", "网络", "数据库", "安全", "外设")
CATEGORY_OF_KIND = {"app": "软件", "db": "数据库", "net": "网络", "host": "硬件", "pc": "硬件", "kiosk": "外设",
                    "storage": "硬件", "wifi": "网络", "vpn": "网络", "power": "硬件", "camera": "外设", "dvr": "外设", "seat": "外设", "mas": "外设",
                    "printer": "外设"}


@dataclass(frozen=True)
class Scenario:
    system: int  # index into SYSTEMS
    symptom: int  # index into SYMPTOMS[kind]

    @property
    def kind(self) -> str:
        return SYSTEMS[self.system][3]

    @property
    def facts(self) -> Symptom:
        return SYMPTOMS[self.kind][self.symptom]


@dataclass(frozen=True)
class GeneratedSolution:
    scenario: Scenario
    title: str
    symptom: str
    cause: str
    fix: str
    kind: str
    system: str
    device_type: str
    category: str


@dataclass(frozen=True)
class Query:
    text: str
    answers: frozenset[int]  # indexes of the relevant solutions


def scenarios() -> list[Scenario]:
    return [Scenario(s, k) for s, system in enumerate(SYSTEMS) for k in range(len(SYMPTOMS[system[3]]))]


def solutions(count: int, *, seed: int = 12) -> list[GeneratedSolution]:
    """`count` solutions spread over every scenario, each worded a little differently."""
    rng = random.Random(seed)
    every = scenarios()
    result = []
    for n in range(count):
        scenario = every[n % len(every)] if n < len(every) else rng.choice(every)
        name, short, device, kind = SYSTEMS[scenario.system]
        phrase, words, causes, fixes = scenario.facts  # engineers quote what the user said
        cause, fix = rng.choice(causes), rng.choice(fixes)
        where, org, since = rng.choice(PLACES), rng.choice(ORGANISATIONS), rng.choice(SINCE)
        title = rng.choice((f"{name}{phrase}", f"{name}{phrase}的处理方法", f"{where}{name}{phrase}",
                            f"{org}{name}{phrase}"))
        result.append(GeneratedSolution(
            scenario, title,
            f"{org}{where}的{name}{since}{phrase}，用户反映“{_join(rng.choice(short), rng.choice(words))}”，"
            f"影响{rng.randint(2, 60)}名用户正常使用。",
            f"经排查，{cause}。", f"{fix}，观察{rng.randint(10, 60)}分钟后恢复正常，已告知用户。",
            rng.choice(("解决方案",) * 8 + ("技术参考资料", "变更/测试/技术方案")),
            name, device, CATEGORY_OF_KIND[kind]))
    return result


def queries(items: list[GeneratedSolution], count: int, *, seed: int = 34) -> list[Query]:
    """Searches about scenarios that have solutions; answers are every solution of the scenario
    (three in four searches name the system) or every solution with the symptom (the rest)."""
    rng = random.Random(seed)
    by_scenario: dict[Scenario, set[int]] = {}
    by_phrase: dict[str, set[int]] = {}
    for index, item in enumerate(items):
        by_scenario.setdefault(item.scenario, set()).add(index)
        by_phrase.setdefault(item.scenario.facts[0], set()).add(index)
    present = sorted(by_scenario, key=lambda s: (s.system, s.symptom))
    result = []
    for _ in range(count):
        scenario = rng.choice(present)
        _name, short, _device, _kind = SYSTEMS[scenario.system]
        phrase, words, _causes, _fixes = scenario.facts
        word, filler, named = rng.choice(words), rng.choice(FILLERS), rng.choice(short)
        if rng.random() < 0.75:
            text = rng.choice((f"{_join(named, word)}{filler}", f"{named} {word} {filler}", f"{rng.choice(SINCE)}{_join(named, word)}"))
            # A short name may fit several systems (HIS, 打印机, 服务器): each of them with this symptom is an answer.
            answers = set().union(*(indexes for other, indexes in by_scenario.items()
                                    if other.facts[0] == phrase and _names(other.system, named)))
        else:
            text = f"{word}{filler}"
            # Words of one symptom may be words of another (登录超时): all solutions whose symptom uses it count.
            answers = set().union(*(by_phrase[p] for p in by_phrase if _uses_word(p, word)))
        result.append(Query(text.strip(), frozenset(answers)))
    return result


def _join(first: str, second: str) -> str:
    """Two words as typed: run together, except two Latin words (U8 and 500)."""
    return f"{first} {second}" if first[-1:].isascii() and second[:1].isascii() else first + second


def _names(system: int, short: str) -> bool:
    name, shorts, _device, _kind = SYSTEMS[system]
    return short in name or short in shorts


def _uses_word(phrase: str, word: str) -> bool:
    for _system, _short, _device, kind in SYSTEMS:
        for symptom in SYMPTOMS[kind]:
            if symptom[0] == phrase and word in symptom[1]:
                return True
    return False


def recall_at(found: list[int], answers: frozenset[int], k: int = 10) -> float:
    """Share of the first k results that are answers, out of the most that could be (min(k, answers))."""
    if not answers:
        return 1.0
    return len(set(found[:k]) & answers) / min(k, len(answers))
