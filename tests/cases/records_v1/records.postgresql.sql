--
-- PostgreSQL database dump
--

\restrict 4koBdwFGAiky77kUfYGJ02bO0n3Eb6NWdTChcnAtz6ZxG8NEC8fymoXczjoJloL

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alerts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alerts (
    fingerprint character varying(64) NOT NULL,
    rule_id character varying(64) NOT NULL,
    subject character varying(128) NOT NULL,
    title character varying(256) NOT NULL,
    severity character varying(16) NOT NULL,
    ticket_class character varying(32) NOT NULL,
    status character varying(16) NOT NULL,
    episode integer NOT NULL,
    pending_since timestamp with time zone,
    firing_since timestamp with time zone,
    resolved_at timestamp with time zone,
    condition boolean,
    flips text NOT NULL,
    flapping boolean NOT NULL,
    paged boolean NOT NULL,
    suppressed boolean NOT NULL,
    acked_by character varying(128),
    version integer NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id character varying(16) NOT NULL,
    name character varying(128) NOT NULL,
    role character varying(16) NOT NULL,
    key_hash character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone
);


--
-- Name: dead_letters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dead_letters (
    id integer NOT NULL,
    received_at timestamp with time zone NOT NULL,
    source character varying(32) NOT NULL,
    topic character varying(512) NOT NULL,
    reason text NOT NULL,
    payload bytea NOT NULL,
    payload_size integer NOT NULL
);


--
-- Name: dead_letters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.dead_letters_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: dead_letters_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.dead_letters_id_seq OWNED BY public.dead_letters.id;


--
-- Name: incidents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.incidents (
    id integer NOT NULL,
    fingerprint character varying(64) NOT NULL,
    episode integer NOT NULL,
    rule_id character varying(64) NOT NULL,
    equipment character varying(128) NOT NULL,
    title character varying(256) NOT NULL,
    severity character varying(16) NOT NULL,
    started_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone
);


--
-- Name: incidents_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.incidents_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: incidents_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.incidents_id_seq OWNED BY public.incidents.id;


--
-- Name: logbook; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.logbook (
    seq bigint NOT NULL,
    ts timestamp with time zone NOT NULL,
    equipment character varying(64) NOT NULL,
    type character varying(32) NOT NULL,
    message text NOT NULL,
    actor character varying(128) NOT NULL,
    data text NOT NULL,
    prev_hash character varying(64) NOT NULL,
    hash character varying(64) NOT NULL
);


--
-- Name: logbook_head; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.logbook_head (
    id integer NOT NULL,
    seq bigint NOT NULL,
    hash character varying(64) NOT NULL
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    id integer NOT NULL,
    event_key character varying(160) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    payload text NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    claimed_until timestamp with time zone,
    delivered_at timestamp with time zone,
    last_error text
);


--
-- Name: outbox_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.outbox_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: outbox_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;


--
-- Name: ticket_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ticket_events (
    id integer NOT NULL,
    ticket_id integer NOT NULL,
    ts timestamp with time zone NOT NULL,
    type character varying(32) NOT NULL,
    actor character varying(128) NOT NULL,
    from_status character varying(16),
    to_status character varying(16),
    message text NOT NULL,
    data text NOT NULL,
    dedupe_key character varying(160)
);


--
-- Name: ticket_events_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.ticket_events_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: ticket_events_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.ticket_events_id_seq OWNED BY public.ticket_events.id;


--
-- Name: tickets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tickets (
    id integer NOT NULL,
    fingerprint character varying(64) NOT NULL,
    rule_id character varying(64) NOT NULL,
    equipment character varying(128) NOT NULL,
    ticket_class character varying(32) NOT NULL,
    title character varying(256) NOT NULL,
    severity character varying(16) NOT NULL,
    status character varying(16) NOT NULL,
    fault_active boolean NOT NULL,
    opened_at timestamp with time zone NOT NULL,
    cycle integer NOT NULL,
    cycle_start timestamp with time zone NOT NULL,
    respond_by timestamp with time zone,
    on_site_by timestamp with time zone,
    resolve_by timestamp with time zone,
    acknowledged_at timestamp with time zone,
    on_site_at timestamp with time zone,
    resolved_at timestamp with time zone,
    closed_at timestamp with time zone,
    recovered_at timestamp with time zone,
    escalation_level integer NOT NULL,
    version integer NOT NULL
);


--
-- Name: tickets_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.tickets_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: tickets_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.tickets_id_seq OWNED BY public.tickets.id;


--
-- Name: dead_letters id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters ALTER COLUMN id SET DEFAULT nextval('public.dead_letters_id_seq'::regclass);


--
-- Name: incidents id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents ALTER COLUMN id SET DEFAULT nextval('public.incidents_id_seq'::regclass);


--
-- Name: outbox id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);


--
-- Name: ticket_events id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ticket_events ALTER COLUMN id SET DEFAULT nextval('public.ticket_events_id_seq'::regclass);


--
-- Name: tickets id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tickets ALTER COLUMN id SET DEFAULT nextval('public.tickets_id_seq'::regclass);


--
-- Data for Name: alerts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.alerts (fingerprint, rule_id, subject, title, severity, ticket_class, status, episode, pending_since, firing_since, resolved_at, condition, flips, flapping, paged, suppressed, acked_by, version, updated_at) FROM stdin;
e394a048d99ee423ec45b51b59b224b7	short_cycling	pump-1	生活泵1号 水泵频繁启停	major	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
3eea912be721e91ab68e26b054ea7bf0	comms_loss	pump-1	生活泵1号 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
170bcdbe5429ccc8b88c3f78fd8f71cf	tank_low	tank-1	生活水箱 水箱低液位	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
611c2408b81fa0a880cc77be465f47d9	tank_overflow	tank-1	生活水箱 水箱溢流	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
ae6e77e57219d47459da7387a44e5686	comms_loss	tank-1	生活水箱 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
908fe89f4ebc03991d4d774d2b674485	tank_high	tank-1	生活水箱 水箱高液位	major	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
7ec0afe8d68daf98a628e8c3aef53bff	fire_tank_low	tank-fire	消防水池 消防水池低液位	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
bf088ad8eb3f64e694e9dc1899c0d719	tank_overflow	tank-fire	消防水池 水箱溢流	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
6e8d591acf2234aed0e58b2ef00f4a5a	comms_loss	tank-fire	消防水池 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
c20f9bd6376085c1170d9d4ff212b79e	tank_high	tank-fire	消防水池 水箱高液位	major	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
5ad7d612d2d942f8caa7a979ddd5de0e	sump_high	sump-1	集水井 集水井高水位	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
3414f0ca4924d428b618b94c82ec18d4	comms_loss	sump-1	集水井 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
b9a4ef1f99e5eb3a6fc1989b20b70058	machine_room_hot	lift-1	1号客梯 电梯机房高温	minor	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
6ba16ee92b6983103177c0e926c45eff	comms_loss	lift-1	1号客梯 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
7964749f27706ca2b5f65dcb75ad8ec5	mains_fail	panel-1	消防主机 主电故障	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
2813ec90a1e8d1cdeaee43c338443074	battery_fail	panel-1	消防主机 备电故障	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
7f13cfe553644cb47eed20dd0f7d7e19	comms_loss	panel-1	消防主机 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
e4de559d6075e39d2d43e30054a3ef8d	short_cycling	gw-pump-a	网关后泵A 水泵频繁启停	major	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
3a1a0d60938b2d65e8fdf7df6450b018	comms_loss	gw-pump-a	网关后泵A 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
091869f602dac339876a58a1bfab0464	pump_trip	gw-pump-a	网关后泵A 水泵跳闸	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
fcdb2567e203ae5ae5b67b5f3cd5568e	dry_running	gw-pump-a	网关后泵A 水泵干转	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
e435a566b984736708d9c8422ee9805f	short_cycling	gw-pump-b	网关后泵B 水泵频繁启停	major	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
19a17c7a5ed22c08c1aa961714b5a733	comms_loss	gw-pump-b	网关后泵B 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
849a65872e7174fe2ca5fca2a000ba00	pump_trip	gw-pump-b	网关后泵B 水泵跳闸	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
de7e412f7571f426be7300e92206f160	dry_running	gw-pump-b	网关后泵B 水泵干转	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
8142c83921670e4bddd07ebf66d1b841	tank_low	gw-tank	网关后水箱 水箱低液位	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
917786195d7ff2bf0ef80a54cf0eba7f	tank_overflow	gw-tank	网关后水箱 水箱溢流	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
fd5f0f743f820b8cf387d3aeffcf790a	comms_loss	gw-tank	网关后水箱 通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
b431996e28d8799733b941001d44c5d2	tank_high	gw-tank	网关后水箱 水箱高液位	major	general	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
a179ddf5996e89cb4b10bce6767089fe	store_down	site:testsite	时序数据库不可读	critical	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
4111009829ae3ce3cbcdb8af57da7b52	no_data	site:testsite	全站无数据（采集器或消息服务器故障）	critical	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
9d5aaa9333393ede7a2eb8e8b4825d6d	gateway_down	gateway:10.0.0.9:502	Modbus网关通讯中断	major	comms	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:01+00
5e61f51c3e109ac8e21ec68288262f4d	dry_running	pump-1	生活泵1号 水泵干转	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	3	2026-03-02 01:00:57+00
36b0dde2d2f229a916def2b4161bae11	entrapment	lift-1	1号客梯 电梯困人	critical	entrapment	firing	1	2026-03-02 01:00:12+00	2026-03-02 01:00:42+00	\N	t	[]	f	t	f	1|监控中心	4	2026-03-02 04:01:02+00
3340bb9db83442728ed2951c7165f1ae	level_falling_fast	tank-1	生活水箱 水箱液位骤降	major	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:02+00
e9e292bfccb822eb339e6f5feec68de1	level_falling_fast	tank-fire	消防水池 水箱液位骤降	major	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:02+00
f1297700b9aa383dc9a642b27cab1846	level_falling_fast	gw-tank	网关后水箱 水箱液位骤降	major	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	1	2026-03-02 01:00:02+00
1a1539002f43e5f2d828bcfb3f4c990c	fire_panel_fault	panel-1	消防主机 消防主机故障	critical	urgent	inactive	0	\N	\N	\N	f	[]	f	f	f	\N	3	2026-03-02 01:00:57+00
a75f604e63ce54262afe749aeff0beb0	elevator_fault	lift-1	1号客梯 电梯故障	critical	elevator_fault	inactive	0	\N	\N	\N	f	[]	f	f	t	\N	2	2026-03-02 01:00:12+00
a83c5e8fdaa92f4fd55a36ab0f725722	out_of_service	lift-1	1号客梯 电梯停止服务	major	elevator_fault	inactive	0	\N	\N	\N	f	[]	f	f	t	\N	2	2026-03-02 01:00:12+00
400d2ee8e38f10e3c616b4bcc17e7b11	fire_alarm	panel-1	消防主机 火警	emergency	emergency	resolved	1	2026-03-02 01:00:52+00	2026-03-02 01:00:52+00	2026-03-02 01:00:57+00	f	[]	f	t	f	\N	4	2026-03-02 04:01:02+00
82d6cb1d0a0757281c99654fbe1b562c	pump_trip	pump-1	生活泵1号 水泵跳闸	critical	urgent	resolved	1	2026-03-02 01:00:02+00	2026-03-02 01:00:02+00	2026-03-02 01:00:57+00	f	[]	f	t	f	\N	4	2026-03-02 04:01:02+00
\.


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_keys (id, name, role, key_hash, created_at, revoked_at) FROM stdin;
02f8c15b	值班电脑	engineer	741443f140127d02a7b7de03079a72a6c7197147fa940f6fa5780068dce36ae2	2026-03-02 01:01:01+00	\N
\.


--
-- Data for Name: dead_letters; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.dead_letters (id, received_at, source, topic, reason, payload, payload_size) FROM stdin;
1	2026-03-02 00:00:00+00	mqtt	plantroom/x/y	bad json	\\x7b	1
\.


--
-- Data for Name: incidents; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.incidents (id, fingerprint, episode, rule_id, equipment, title, severity, started_at, ended_at) FROM stdin;
1	400d2ee8e38f10e3c616b4bcc17e7b11	1	fire_alarm	panel-1	消防主机 火警	emergency	2026-03-02 01:00:52+00	2026-03-02 01:00:57+00
\.


--
-- Data for Name: logbook; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.logbook (seq, ts, equipment, type, message, actor, data, prev_hash, hash) FROM stdin;
1	2026-03-02 01:00:02+00	pump-1	alert	生活泵1号 水泵跳闸: 告警	system	{"change": "firing", "episode": 1, "rule_id": "pump_trip"}	0000000000000000000000000000000000000000000000000000000000000000	3d26a8852574efa5c0274e6ed8862f4ee57fdd24bb1e263dc1578f7ef086b97c
2	2026-03-02 01:00:02+00	pump-1	ticket	工单#1 opened: 生活泵1号 水泵跳闸，派单给值班工程师	system	{"episode": 1, "event": "opened", "flapping": false, "notify": "duty_engineer", "on_site_by": "2026-03-02T01:30:02+00:00", "resolve_by": "2026-03-02T13:00:02+00:00", "respond_by": "2026-03-02T01:10:02+00:00", "ticket_id": 1}	3d26a8852574efa5c0274e6ed8862f4ee57fdd24bb1e263dc1578f7ef086b97c	0d63a1a5a4a3c0d8f6f37ad15ad1f56ffdca976bd3e45c6e527883eaae218c45
3	2026-03-02 01:00:12+00	lift-1	alert	1号客梯 电梯困人: 异常出现，确认中	system	{"change": "pending", "episode": 0, "rule_id": "entrapment"}	0d63a1a5a4a3c0d8f6f37ad15ad1f56ffdca976bd3e45c6e527883eaae218c45	9cab992300b8d42f5f6212eb66ebe4994273e645f94557ddd1d77833d0a24295
4	2026-03-02 01:00:42+00	lift-1	alert	1号客梯 电梯困人: 告警	system	{"change": "firing", "episode": 1, "rule_id": "entrapment"}	9cab992300b8d42f5f6212eb66ebe4994273e645f94557ddd1d77833d0a24295	eb0fda37073e6bf677774dfcf858c301fd57c80035d78d484179cfa53fc8542a
5	2026-03-02 01:00:42+00	lift-1	ticket	工单#2 opened: 1号客梯 电梯困人，派单给值班工程师	system	{"episode": 1, "event": "opened", "flapping": false, "notify": "duty_engineer", "on_site_by": "2026-03-02T01:30:12+00:00", "resolve_by": null, "respond_by": "2026-03-02T01:05:12+00:00", "ticket_id": 2}	eb0fda37073e6bf677774dfcf858c301fd57c80035d78d484179cfa53fc8542a	e8fe6a7f91ce71de9eab43cad7bf1a52174194609ad95a85cea55cee48e5a0d4
6	2026-03-02 01:00:52+00	panel-1	alert	消防主机 火警: 告警	system	{"change": "firing", "episode": 1, "rule_id": "fire_alarm"}	e8fe6a7f91ce71de9eab43cad7bf1a52174194609ad95a85cea55cee48e5a0d4	c897eeec4f343c47b343461ce65450a9eeb5cfb9bdcacbbcfc32ced6e80a9e69
7	2026-03-02 01:00:57+00	pump-1	alert	生活泵1号 水泵跳闸: 告警恢复	system	{"change": "resolved", "episode": 1, "rule_id": "pump_trip"}	c897eeec4f343c47b343461ce65450a9eeb5cfb9bdcacbbcfc32ced6e80a9e69	d53c82974856e5eae3dbaee4349fefa85946efde8b6f9b15cf6ed3c03345b212
8	2026-03-02 01:00:57+00	pump-1	ticket	工单#1 recovered: 信号已恢复，待现场确认	system	{"event": "recovered", "ticket_id": 1}	d53c82974856e5eae3dbaee4349fefa85946efde8b6f9b15cf6ed3c03345b212	9cd2871ac2d8ec74c06513e9d48f68902635936e381a8307d54982d43402e521
9	2026-03-02 01:00:57+00	panel-1	alert	消防主机 火警: 告警恢复	system	{"change": "resolved", "episode": 1, "rule_id": "fire_alarm"}	9cd2871ac2d8ec74c06513e9d48f68902635936e381a8307d54982d43402e521	bca16a02454ea164e0cd14a51cd21b7ff0dd1f7019900fdd93e79d126950933d
10	2026-03-02 01:01:01+00	pump-1	ticket	工单#1 ack: acknowledged	张工	{"event": "ack", "ticket_id": 1}	bca16a02454ea164e0cd14a51cd21b7ff0dd1f7019900fdd93e79d126950933d	0d88fc87c19cfb05dc9c066227b576cf3a60814f342bc632efc8715191e09ecd
11	2026-03-02 01:06:01+00	pump-1	ticket	工单#1 on_site: on_site	张工	{"event": "on_site", "ticket_id": 1}	0d88fc87c19cfb05dc9c066227b576cf3a60814f342bc632efc8715191e09ecd	3ebbbe338c7330eea0d187b2a69c74aaf13edc9f4e0b2727e567ba3e83ea8802
12	2026-03-02 01:21:01+00	pump-1	ticket	工单#1 resolve: resolved	张工	{"event": "resolve", "ticket_id": 1}	3ebbbe338c7330eea0d187b2a69c74aaf13edc9f4e0b2727e567ba3e83ea8802	ac45dfaa7774a0703b2848acb1360d9d502028e7a257f9f0d6c0c838e412d475
13	2026-03-02 02:01:01+00	pump-1	ticket	工单#1 close: closed	李主管	{"event": "close", "ticket_id": 1}	ac45dfaa7774a0703b2848acb1360d9d502028e7a257f9f0d6c0c838e412d475	588db0ea0cc58659a2ecb702a57b390491757ebf4ca77e686e890a5637d8d9e1
14	2026-03-02 02:31:01+00	pump-1	ticket	工单#1 reopen: 住户反映仍漏水	李主管	{"event": "reopen", "reason": "住户反映仍漏水", "ticket_id": 1}	588db0ea0cc58659a2ecb702a57b390491757ebf4ca77e686e890a5637d8d9e1	6146790d50bb3273ff526eb40711357c8aab42dee5d71eb39b2b8531c1df7ec3
15	2026-03-02 04:01:02+00	lift-1	ticket	工单#2 escalated: 未按时接单，升级至supervisor	system	{"deadline": "respond", "event": "escalated", "level": 1, "notify": "supervisor", "ticket_id": 2}	6146790d50bb3273ff526eb40711357c8aab42dee5d71eb39b2b8531c1df7ec3	c0e731ec206e9ccf2e9f1db8145ba074108fcb3a0f8894c6946e27be4eda2a7b
16	2026-03-02 04:01:02+00	lift-1	ticket	工单#2 escalated: 未按时接单，升级至manager	system	{"deadline": "respond", "event": "escalated", "level": 2, "notify": "manager", "ticket_id": 2}	c0e731ec206e9ccf2e9f1db8145ba074108fcb3a0f8894c6946e27be4eda2a7b	8d63c2cdeba339ef7dfc0bcd92dee36726d64a5abb2fe4ebe9e4a7601a0a351f
17	2026-03-02 04:01:02+00	lift-1	ticket	工单#2 escalated: 未按时到场，升级至supervisor	system	{"deadline": "on_site", "event": "escalated", "level": 1, "notify": "supervisor", "ticket_id": 2}	8d63c2cdeba339ef7dfc0bcd92dee36726d64a5abb2fe4ebe9e4a7601a0a351f	09c4a4f2640370f4e2e3483b08a18c508e572239cba595a915c1ccf92871fcd6
18	2026-03-02 04:01:02+00	lift-1	ticket	工单#2 escalated: 未按时到场，升级至manager	system	{"deadline": "on_site", "event": "escalated", "level": 2, "notify": "manager", "ticket_id": 2}	09c4a4f2640370f4e2e3483b08a18c508e572239cba595a915c1ccf92871fcd6	e7b0aaaff8e1d376de225f1cc03e5ec76fddd84f813569745b91324d07300062
19	2026-03-02 04:01:02+00	pump-1	ticket	工单#1 escalated: 未按时接单，升级至supervisor	system	{"deadline": "respond", "event": "escalated", "level": 1, "notify": "supervisor", "ticket_id": 1}	e7b0aaaff8e1d376de225f1cc03e5ec76fddd84f813569745b91324d07300062	776e70f53876ffa18e0234a55c4fce286f26a0cfcb77f33e20ff366197d53e22
20	2026-03-02 04:01:02+00	pump-1	ticket	工单#1 escalated: 未按时接单，升级至manager	system	{"deadline": "respond", "event": "escalated", "level": 2, "notify": "manager", "ticket_id": 1}	776e70f53876ffa18e0234a55c4fce286f26a0cfcb77f33e20ff366197d53e22	4ab431876e4185ddd48b4310a2a7a42c4cd3e86c7b7154a058c42058a634cce1
21	2026-03-02 04:01:02+00	pump-1	ticket	工单#1 escalated: 未按时到场，升级至supervisor	system	{"deadline": "on_site", "event": "escalated", "level": 1, "notify": "supervisor", "ticket_id": 1}	4ab431876e4185ddd48b4310a2a7a42c4cd3e86c7b7154a058c42058a634cce1	c8c656120ae0fa74a9aaecaabf8d4fc46b33cc053a897b83380dbb1e4a21ff06
22	2026-03-02 04:01:02+00	pump-1	ticket	工单#1 escalated: 未按时到场，升级至manager	system	{"deadline": "on_site", "event": "escalated", "level": 2, "notify": "manager", "ticket_id": 1}	c8c656120ae0fa74a9aaecaabf8d4fc46b33cc053a897b83380dbb1e4a21ff06	afb94889f4bf9c5b1d1cad7efea37ea39cccd25f0201a77e40f3cb12a376742b
23	2026-03-02 01:01:01+00	tank-1	ticket	工单#3 opened: 生活水箱 浮球阀漏水（人工登记）	前台王	{"description": "住户电话报修", "event": "opened", "source": "manual", "ticket_id": 3}	afb94889f4bf9c5b1d1cad7efea37ea39cccd25f0201a77e40f3cb12a376742b	7cfb0012ee90ebceb70a3c621c58dc24604c0924871555cd467e340fe3062af3
24	2026-03-02 01:01:01+00	lift-1	alert	1号客梯 电梯困人: 告警已确认	监控中心	{"change": "acknowledged", "episode": 1, "rule_id": "entrapment"}	7cfb0012ee90ebceb70a3c621c58dc24604c0924871555cd467e340fe3062af3	e562c8d45a0079f966c74cbf040fb2cd11de008c31e3cec8ea3da0d02e40df5e
25	2026-03-02 01:01:01+00	tank-1	ticket	工单#3 cancel: 误报，已自行关闭	前台王	{"event": "cancel", "reason": "误报，已自行关闭", "ticket_id": 3}	e562c8d45a0079f966c74cbf040fb2cd11de008c31e3cec8ea3da0d02e40df5e	554c4ff004ebe2d455e008eca8e758b47ca407b369ec84c8a4c69efa01e824a5
\.


--
-- Data for Name: logbook_head; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.logbook_head (id, seq, hash) FROM stdin;
1	25	554c4ff004ebe2d455e008eca8e758b47ca407b369ec84c8a4c69efa01e824a5
\.


--
-- Data for Name: outbox; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.outbox (id, event_key, created_at, payload, attempts, next_attempt_at, claimed_until, delivered_at, last_error) FROM stdin;
1	ticket-event:1	2026-03-02 01:00:02+00	{"actor": "system", "at": "2026-03-02T01:00:02+00:00", "episode": 1, "equipment": "pump-1", "event": "opened", "event_id": 1, "flapping": false, "message": "生活泵1号 水泵跳闸，派单给值班工程师", "notify": "duty_engineer", "on_site_by": "2026-03-02T01:30:02+00:00", "resolve_by": "2026-03-02T13:00:02+00:00", "respond_by": "2026-03-02T01:10:02+00:00", "status": "open", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 01:00:02+00	\N	\N	\N
2	ticket-event:2	2026-03-02 01:00:42+00	{"actor": "system", "at": "2026-03-02T01:00:42+00:00", "episode": 1, "equipment": "lift-1", "event": "opened", "event_id": 2, "flapping": false, "message": "1号客梯 电梯困人，派单给值班工程师", "notify": "duty_engineer", "on_site_by": "2026-03-02T01:30:12+00:00", "resolve_by": null, "respond_by": "2026-03-02T01:05:12+00:00", "status": "open", "ticket_class": "entrapment", "ticket_id": 2, "title": "1号客梯 电梯困人", "type": "ticket"}	0	2026-03-02 01:00:42+00	\N	\N	\N
3	incident:400d2ee8e38f10e3c616b4bcc17e7b11:1:started	2026-03-02 01:00:52+00	{"at": "2026-03-02T01:00:52+00:00", "episode": 1, "equipment": "panel-1", "event": "started", "rule_id": "fire_alarm", "severity": "emergency", "title": "消防主机 火警", "type": "incident"}	0	2026-03-02 01:00:52+00	\N	\N	\N
4	ticket-event:3	2026-03-02 01:00:57+00	{"actor": "system", "at": "2026-03-02T01:00:57+00:00", "equipment": "pump-1", "event": "recovered", "event_id": 3, "message": "信号已恢复，待现场确认", "status": "open", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 01:00:57+00	\N	\N	\N
5	ticket-event:4	2026-03-02 01:01:01+00	{"actor": "张工", "at": "2026-03-02T01:01:01+00:00", "equipment": "pump-1", "event": "ack", "event_id": 4, "message": "acknowledged", "status": "acknowledged", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 01:01:01+00	\N	\N	\N
6	ticket-event:5	2026-03-02 01:06:01+00	{"actor": "张工", "at": "2026-03-02T01:06:01+00:00", "equipment": "pump-1", "event": "on_site", "event_id": 5, "message": "on_site", "status": "on_site", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 01:06:01+00	\N	\N	\N
7	ticket-event:6	2026-03-02 01:21:01+00	{"actor": "张工", "at": "2026-03-02T01:21:01+00:00", "equipment": "pump-1", "event": "resolve", "event_id": 6, "message": "resolved", "status": "resolved", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 01:21:01+00	\N	\N	\N
8	ticket-event:7	2026-03-02 02:01:01+00	{"actor": "李主管", "at": "2026-03-02T02:01:01+00:00", "equipment": "pump-1", "event": "close", "event_id": 7, "message": "closed", "status": "closed", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 02:01:01+00	\N	\N	\N
9	ticket-event:8	2026-03-02 02:31:01+00	{"actor": "李主管", "at": "2026-03-02T02:31:01+00:00", "equipment": "pump-1", "event": "reopen", "event_id": 8, "message": "住户反映仍漏水", "reason": "住户反映仍漏水", "status": "reopened", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 02:31:01+00	\N	\N	\N
10	ticket-event:9	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "respond", "equipment": "lift-1", "event": "escalated", "event_id": 9, "level": 1, "message": "未按时接单，升级至supervisor", "notify": "supervisor", "status": "open", "ticket_class": "entrapment", "ticket_id": 2, "title": "1号客梯 电梯困人", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
11	ticket-event:10	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "respond", "equipment": "lift-1", "event": "escalated", "event_id": 10, "level": 2, "message": "未按时接单，升级至manager", "notify": "manager", "status": "open", "ticket_class": "entrapment", "ticket_id": 2, "title": "1号客梯 电梯困人", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
12	ticket-event:11	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "on_site", "equipment": "lift-1", "event": "escalated", "event_id": 11, "level": 1, "message": "未按时到场，升级至supervisor", "notify": "supervisor", "status": "open", "ticket_class": "entrapment", "ticket_id": 2, "title": "1号客梯 电梯困人", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
13	ticket-event:12	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "on_site", "equipment": "lift-1", "event": "escalated", "event_id": 12, "level": 2, "message": "未按时到场，升级至manager", "notify": "manager", "status": "open", "ticket_class": "entrapment", "ticket_id": 2, "title": "1号客梯 电梯困人", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
14	ticket-event:13	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "respond", "equipment": "pump-1", "event": "escalated", "event_id": 13, "level": 1, "message": "未按时接单，升级至supervisor", "notify": "supervisor", "status": "reopened", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
15	ticket-event:14	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "respond", "equipment": "pump-1", "event": "escalated", "event_id": 14, "level": 2, "message": "未按时接单，升级至manager", "notify": "manager", "status": "reopened", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
16	ticket-event:15	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "on_site", "equipment": "pump-1", "event": "escalated", "event_id": 15, "level": 1, "message": "未按时到场，升级至supervisor", "notify": "supervisor", "status": "reopened", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
17	ticket-event:16	2026-03-02 04:01:02+00	{"actor": "system", "at": "2026-03-02T04:01:02+00:00", "deadline": "on_site", "equipment": "pump-1", "event": "escalated", "event_id": 16, "level": 2, "message": "未按时到场，升级至manager", "notify": "manager", "status": "reopened", "ticket_class": "urgent", "ticket_id": 1, "title": "生活泵1号 水泵跳闸", "type": "ticket"}	0	2026-03-02 04:01:02+00	\N	\N	\N
18	ticket-event:17	2026-03-02 01:01:01+00	{"actor": "前台王", "at": "2026-03-02T01:01:01+00:00", "description": "住户电话报修", "equipment": "tank-1", "event": "opened", "event_id": 17, "message": "生活水箱 浮球阀漏水（人工登记）", "source": "manual", "status": "open", "ticket_class": "general", "ticket_id": 3, "title": "生活水箱 浮球阀漏水", "type": "ticket"}	0	2026-03-02 01:01:01+00	\N	\N	\N
19	ticket-event:18	2026-03-02 01:01:01+00	{"actor": "前台王", "at": "2026-03-02T01:01:01+00:00", "equipment": "tank-1", "event": "cancel", "event_id": 18, "message": "误报，已自行关闭", "reason": "误报，已自行关闭", "status": "cancelled", "ticket_class": "general", "ticket_id": 3, "title": "生活水箱 浮球阀漏水", "type": "ticket"}	0	2026-03-02 01:01:01+00	\N	\N	\N
\.


--
-- Data for Name: ticket_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.ticket_events (id, ticket_id, ts, type, actor, from_status, to_status, message, data, dedupe_key) FROM stdin;
1	1	2026-03-02 01:00:02+00	opened	system	open	open	生活泵1号 水泵跳闸，派单给值班工程师	{"episode": 1, "flapping": false, "notify": "duty_engineer", "on_site_by": "2026-03-02T01:30:02+00:00", "resolve_by": "2026-03-02T13:00:02+00:00", "respond_by": "2026-03-02T01:10:02+00:00"}	\N
2	2	2026-03-02 01:00:42+00	opened	system	open	open	1号客梯 电梯困人，派单给值班工程师	{"episode": 1, "flapping": false, "notify": "duty_engineer", "on_site_by": "2026-03-02T01:30:12+00:00", "resolve_by": null, "respond_by": "2026-03-02T01:05:12+00:00"}	\N
3	1	2026-03-02 01:00:57+00	recovered	system	open	open	信号已恢复，待现场确认	{}	\N
4	1	2026-03-02 01:01:01+00	ack	张工	open	acknowledged	acknowledged	{}	\N
5	1	2026-03-02 01:06:01+00	on_site	张工	acknowledged	on_site	on_site	{}	\N
6	1	2026-03-02 01:21:01+00	resolve	张工	on_site	resolved	resolved	{}	\N
7	1	2026-03-02 02:01:01+00	close	李主管	resolved	closed	closed	{}	\N
8	1	2026-03-02 02:31:01+00	reopen	李主管	closed	reopened	住户反映仍漏水	{"reason": "住户反映仍漏水"}	\N
9	2	2026-03-02 04:01:02+00	escalated	system	open	open	未按时接单，升级至supervisor	{"deadline": "respond", "level": 1, "notify": "supervisor"}	esc:2:1:respond:1
10	2	2026-03-02 04:01:02+00	escalated	system	open	open	未按时接单，升级至manager	{"deadline": "respond", "level": 2, "notify": "manager"}	esc:2:1:respond:2
11	2	2026-03-02 04:01:02+00	escalated	system	open	open	未按时到场，升级至supervisor	{"deadline": "on_site", "level": 1, "notify": "supervisor"}	esc:2:1:on_site:1
12	2	2026-03-02 04:01:02+00	escalated	system	open	open	未按时到场，升级至manager	{"deadline": "on_site", "level": 2, "notify": "manager"}	esc:2:1:on_site:2
13	1	2026-03-02 04:01:02+00	escalated	system	reopened	reopened	未按时接单，升级至supervisor	{"deadline": "respond", "level": 1, "notify": "supervisor"}	esc:1:2:respond:1
14	1	2026-03-02 04:01:02+00	escalated	system	reopened	reopened	未按时接单，升级至manager	{"deadline": "respond", "level": 2, "notify": "manager"}	esc:1:2:respond:2
15	1	2026-03-02 04:01:02+00	escalated	system	reopened	reopened	未按时到场，升级至supervisor	{"deadline": "on_site", "level": 1, "notify": "supervisor"}	esc:1:2:on_site:1
16	1	2026-03-02 04:01:02+00	escalated	system	reopened	reopened	未按时到场，升级至manager	{"deadline": "on_site", "level": 2, "notify": "manager"}	esc:1:2:on_site:2
17	3	2026-03-02 01:01:01+00	opened	前台王	open	open	生活水箱 浮球阀漏水（人工登记）	{"description": "住户电话报修", "source": "manual"}	\N
18	3	2026-03-02 01:01:01+00	cancel	前台王	open	cancelled	误报，已自行关闭	{"reason": "误报，已自行关闭"}	\N
\.


--
-- Data for Name: tickets; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.tickets (id, fingerprint, rule_id, equipment, ticket_class, title, severity, status, fault_active, opened_at, cycle, cycle_start, respond_by, on_site_by, resolve_by, acknowledged_at, on_site_at, resolved_at, closed_at, recovered_at, escalation_level, version) FROM stdin;
2	36b0dde2d2f229a916def2b4161bae11	entrapment	lift-1	entrapment	1号客梯 电梯困人	critical	open	t	2026-03-02 01:00:42+00	1	2026-03-02 01:00:12+00	2026-03-02 01:05:12+00	2026-03-02 01:30:12+00	\N	\N	\N	\N	\N	\N	2	1
1	82d6cb1d0a0757281c99654fbe1b562c	pump_trip	pump-1	urgent	生活泵1号 水泵跳闸	critical	reopened	f	2026-03-02 01:00:02+00	2	2026-03-02 02:31:01+00	2026-03-02 01:10:02+00	2026-03-02 01:30:02+00	2026-03-02 13:00:02+00	2026-03-02 01:01:01+00	2026-03-02 01:06:01+00	2026-03-02 01:21:01+00	2026-03-02 02:01:01+00	2026-03-02 01:00:57+00	2	7
3	manual:1356ac5916604614a7f99138d48f864d	manual	tank-1	general	生活水箱 浮球阀漏水	warning	cancelled	t	2026-03-02 01:01:01+00	1	2026-03-02 01:01:01+00	2026-03-02 01:31:01+00	2026-03-03 01:01:01+00	2026-03-04 01:01:01+00	\N	\N	\N	\N	\N	0	2
\.


--
-- Name: dead_letters_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.dead_letters_id_seq', 1, true);


--
-- Name: incidents_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.incidents_id_seq', 1, true);


--
-- Name: outbox_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.outbox_id_seq', 19, true);


--
-- Name: ticket_events_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.ticket_events_id_seq', 18, true);


--
-- Name: tickets_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.tickets_id_seq', 3, true);


--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (fingerprint);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: dead_letters dead_letters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters
    ADD CONSTRAINT dead_letters_pkey PRIMARY KEY (id);


--
-- Name: incidents incidents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT incidents_pkey PRIMARY KEY (id);


--
-- Name: logbook_head logbook_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.logbook_head
    ADD CONSTRAINT logbook_head_pkey PRIMARY KEY (id);


--
-- Name: logbook logbook_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.logbook
    ADD CONSTRAINT logbook_pkey PRIMARY KEY (seq);


--
-- Name: outbox outbox_event_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_event_key_key UNIQUE (event_key);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);


--
-- Name: ticket_events ticket_events_dedupe_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ticket_events
    ADD CONSTRAINT ticket_events_dedupe_key_key UNIQUE (dedupe_key);


--
-- Name: ticket_events ticket_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ticket_events
    ADD CONSTRAINT ticket_events_pkey PRIMARY KEY (id);


--
-- Name: tickets tickets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tickets
    ADD CONSTRAINT tickets_pkey PRIMARY KEY (id);


--
-- Name: incidents ux_incidents_episode; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.incidents
    ADD CONSTRAINT ux_incidents_episode UNIQUE (fingerprint, episode);


--
-- Name: ix_alerts_subject; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_alerts_subject ON public.alerts USING btree (subject);


--
-- Name: ix_dead_letters_received_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_dead_letters_received_at ON public.dead_letters USING btree (received_at);


--
-- Name: ix_logbook_equipment_ts; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_logbook_equipment_ts ON public.logbook USING btree (equipment, ts);


--
-- Name: ix_outbox_delivered_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_outbox_delivered_at ON public.outbox USING btree (delivered_at);


--
-- Name: ix_ticket_events_ticket_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_ticket_events_ticket_id ON public.ticket_events USING btree (ticket_id);


--
-- Name: ix_tickets_equipment; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_tickets_equipment ON public.tickets USING btree (equipment);


--
-- Name: ix_tickets_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_tickets_status ON public.tickets USING btree (status);


--
-- Name: ux_tickets_live_fingerprint; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX ux_tickets_live_fingerprint ON public.tickets USING btree (fingerprint) WHERE ((status)::text <> ALL ((ARRAY['closed'::character varying, 'cancelled'::character varying])::text[]));


--
-- Name: ticket_events ticket_events_ticket_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ticket_events
    ADD CONSTRAINT ticket_events_ticket_id_fkey FOREIGN KEY (ticket_id) REFERENCES public.tickets(id);


--
-- PostgreSQL database dump complete
--

\unrestrict 4koBdwFGAiky77kUfYGJ02bO0n3Eb6NWdTChcnAtz6ZxG8NEC8fymoXczjoJloL

