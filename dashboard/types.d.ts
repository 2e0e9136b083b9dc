// What each classic script hangs off window.DeskPulse, for `tsc -p jsconfig.json` (nothing here runs).
// The payload types are JSDoc typedefs at the end of js/store.js, next to the code that validates them.

interface Window {
  DeskPulse: DeskPulse.Namespace;
  /** MQTT.js, from node_modules/mqtt/dist/mqtt.min.js (only what js/connection.js uses). */
  mqtt: DeskPulse.Mqtt;
}

declare namespace DeskPulse {
  // ------------------------------------------------------------------ MQTT.js, as used

  interface MqttPacket {
    retain?: boolean;
  }
  interface MqttError extends Error {
    code?: number | string;
  }
  interface MqttClient {
    readonly connected: boolean;
    on(event: "connect" | "reconnect" | "offline" | "close", listener: () => void): this;
    on(event: "message", listener: (topic: string, payload: Uint8Array, packet: MqttPacket) => void): this;
    on(event: "error", listener: (error: MqttError) => void): this;
    subscribe(filters: Record<string, { qos: 0 | 1 | 2 }>, callback: (error: MqttError | null) => void): this;
    unsubscribe(filters: string[]): this;
    publish(topic: string, payload: string, options: { qos: 0 | 1 | 2; retain: boolean }, callback: (error?: MqttError) => void): this;
    end(force?: boolean): this;
  }
  interface Mqtt {
    connect(url: string, options: Record<string, unknown>): MqttClient;
  }

  // ------------------------------------------------------------------ js/contract.js (generated) and js/config.js

  /** The node's vocabulary, generated from its models. Later versions may add keys and settings. */
  interface Contract {
    readonly schema_version: number;
    readonly topic_prefix: string;
    readonly node_id_pattern: string;
    readonly postures: readonly string[];
    readonly sensitivities: readonly string[];
    readonly settings: readonly string[];
    readonly alert_minutes: { readonly min: number; readonly max: number };
    readonly rotations: readonly number[];
    readonly cpu_budget: { readonly min: number; readonly max: number };
    readonly posture_colours: Readonly<Record<string, string>>;
    readonly camera_states: readonly string[];
    readonly calibration_states: readonly string[];
    readonly state_leaves: readonly string[];
  }

  /** Settings the page sets as a number, and how. */
  type NumberSetting = "alert_minutes" | "cpu_budget";
  interface NumberLimits {
    readonly min: number;
    readonly max: number;
    readonly step: number;
    readonly label: string;
    readonly unit: string;
  }

  interface Constants {
    readonly TOPIC_PREFIX: string;
    readonly DEFAULT_WS_PORT: number;
    readonly DEFAULT_WSS_PORT: number;
    readonly STATE_LEAVES: readonly string[];
    readonly SETTINGS: readonly string[];
    readonly POSE_LEAF: string;
    readonly POSTURES: readonly string[];
    readonly SENSITIVITIES: readonly string[];
    readonly ROTATIONS: readonly number[];
    readonly NODE_ID_PATTERN: RegExp;
    readonly STALE_AFTER_S: number;
    readonly FRAME_STALE_MIN_S: number;
    readonly RESYNC_SETTLE_MS: number;
    readonly RECONNECT_MS: number;
    readonly RECONNECT_JITTER_MS: number;
    readonly CONNECT_TIMEOUT_MS: number;
    readonly KEEPALIVE_S: number;
    readonly COMMAND_TIMEOUT_MS: number;
    readonly ALERT_MINUTES_MIN: number;
    readonly ALERT_MINUTES_MAX: number;
    readonly NUMBERS: Readonly<Record<NumberSetting, NumberLimits>>;
    readonly EVENT_LOG_SIZE: number;
    readonly LATENCY_SAMPLES: number;
    readonly CLOCK_SAMPLES: number;
    readonly TICK_MS: number;
    readonly POSE_MAX_BYTES: number;
    readonly POSE_FADE_AFTER_S: number;
    readonly POSE_GONE_AFTER_S: number;
    readonly PERMISSION_PROBE_TOPIC: string;
    readonly CREDENTIALS_KEY: string;
  }

  interface PageOptions {
    brokerUrl: string | null;
    nodes: string[];
    user: string;
    frames: "shared" | "separate";
    protocolVersion: 4 | 5 | null;
    problems: string[];
  }

  // ------------------------------------------------------------------ js/format.js

  interface PostureWords {
    label: string;
    short: string;
    icon: string;
  }
  interface Format {
    POSTURES: Readonly<Record<string, PostureWords>>;
    TRENDS: Readonly<Record<string, string>>;
    postureMeta(name: string): PostureWords;
    cameraMeta(name: string): { label: string; icon: string };
    finite(value: unknown): value is number;
    duration(seconds: number | null | undefined): string;
    totalMinutes(seconds: number | null | undefined): string;
    ago(seconds: number | null | undefined): string;
    percent(value: number | null | undefined): string;
    dayLabel(isoDate: string): string;
    clockTime(epochSeconds: number | null | undefined): string;
    capitalise(text: string): string;
    sentence(text: string | null | undefined): string;
    eventText(event: EventPayload): string;
    eventTitle(type: string): string;
    measureLabel(line: PoseLine): string;
  }

  // ------------------------------------------------------------------ js/store.js

  interface Frame {
    blob: Blob;
    size: number;
    receivedAt: number;
    retained: boolean;
    version: number;
  }
  interface Pose {
    payload: PosePayload;
    /** When it was taken, on this browser's clock (a retained pose may arrive late). */
    at: number;
    version: number;
  }
  interface Setting {
    value: string;
    receivedAt: number;
  }
  interface Command {
    status: "sending" | "sent" | "done" | "error";
    message: string;
    value?: string;
    at: number;
  }
  interface Alert {
    event: EventPayload;
    receivedAt: number;
    dismissed: boolean;
  }
  interface NodeRecord {
    readonly id: string;
    availability: string | null;
    state: PostureState | null;
    camera: CameraPayload | null;
    stats: StatsPayload | null;
    history: HistoryPayload | null;
    info: InfoPayload | null;
    frame: Frame | null;
    pose: Pose | null;
    settings: Record<string, Setting>;
    events: { event: EventPayload; receivedAt: number }[];
    alert: Alert | null;
    commands: Record<string, Command>;
    readonly name: string;
    readonly online: boolean;
    readonly offline: boolean;
    readonly stale: boolean;
    nodeNow(): number;
    stateAge(): number | null;
    frameStaleAfter(): number;
  }
  interface ResyncToken {
    kind: "state" | "frames" | "all";
    startedAt: number;
  }
  interface Diagnostics {
    messages: number;
    malformed: number;
    lastProblem: string | null;
    stateDelaysMs: number[];
    poseDelaysMs: number[];
    liveStates: { node: string; seq: number; posture: string }[];
    frameArrivals: number[];
    counts: Record<string, number>;
  }
  interface Store {
    readonly nodes: Map<string, NodeRecord>;
    readonly diagnostics: Diagnostics;
    onChange(listener: () => void): void;
    onEvent(listener: (record: NodeRecord, event: EventPayload, receivedAt: number) => void): void;
    onPosture(listener: (record: NodeRecord, previous: string | null, state: PostureState) => void): void;
    sortedNodes(): NodeRecord[];
    apply(nodeId: string, leaf: string, payload: Uint8Array | null, options?: { retained?: boolean; receivedAt?: number }): void;
    beginResync(kind: ResyncToken["kind"]): ResyncToken;
    endResync(token: ResyncToken): void;
    keepFramesOf(ids: string[]): void;
    dropFrames(): void;
    setCommand(nodeId: string, setting: string, status: Omit<Command, "at">): void;
    dismissAlert(nodeId: string): void;
  }

  // ------------------------------------------------------------------ js/connection.js

  interface LinkStatus {
    state: "connecting" | "connected" | "reconnecting" | "refused" | "error";
    message: string;
  }
  interface Credentials {
    user: string;
    password: string;
  }
  /** Credentials kept in sessionStorage ("Keep me signed in on this tab"), with the broker they were given for. */
  interface StoredCredentials extends Credentials {
    broker: string;
  }
  interface ConnectionOptions {
    url: string | null;
    nodes: string[];
    frames: "shared" | "separate";
    protocolVersion: 4 | 5 | null;
    store: Store;
    onChange: () => void;
  }
  interface Connection {
    readonly url: string | null;
    readonly nodes: string[];
    readonly status: LinkStatus;
    readonly framesStatus: LinkStatus;
    readonly protocolVersion: 4 | 5 | null;
    readonly signedIn: boolean;
    readonly user: string | null;
    readonly canControl: boolean;
    role: string;
    start(credentials?: Credentials | null, protocolVersion?: 4 | 5 | null): void;
    watchFrames(nodeIds: string[]): void;
    signIn(user: string, password: string): Promise<void>;
    signOut(): void;
    sendCommand(nodeId: string, setting: string, value: string): Promise<void>;
    describe(): Record<string, unknown>;
  }

  // ------------------------------------------------------------------ js/dom.js, js/describe.js, js/panels/, js/view.js

  type ChildItem = Node | string | null | undefined | false;
  type Child = ChildItem | ChildItem[];
  type Props = Record<string, string | number | boolean | null | undefined | Record<string, string>>;
  interface Dom {
    SVG_NS: string;
    h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K];
    svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs?: Record<string, string | number | null | undefined>, ...children: (SVGElement | null | undefined)[]): SVGElementTagNameMap[K];
    icon(id: string, className?: string): SVGSVGElement;
    setIcon(svg: SVGSVGElement, id: string): void;
    setText(el: Element, text: string | number | null | undefined): void;
    setAttr(el: Element, name: string, value: string | number | boolean | null | undefined): void;
    show(el: HTMLElement, visible: boolean): void;
    panel(title: string, ...children: Child[]): { el: HTMLElement; heading: HTMLElement };
  }

  interface Describe {
    nowSeconds(): number;
    displayPosture(record: NodeRecord): string;
    statusLine(record: NodeRecord): string;
    sinceText(record: NodeRecord): string;
    updatedText(record: NodeRecord): string;
    settingValue(record: NodeRecord, name: string): string | null;
  }

  /** What every part of a node's view gets on each render. */
  interface RenderContext {
    connection: Connection;
    framesSince: number | null;
  }
  /** A part of a node's view that draws from the record alone. */
  interface RecordPart {
    el: HTMLElement;
    update(record: NodeRecord): void;
  }
  /** A part that also needs the connection (frames, controls). */
  interface Part {
    el: HTMLElement;
    update(record: NodeRecord, ctx: RenderContext): void;
    destroy?(): void;
  }
  interface FrameSituation {
    show: boolean;
    why: string;
    signIn?: boolean;
    /** No picture, but the skeleton may stand in on a neutral stage (the privacy view); its short caption. */
    skeleton?: string;
  }
  /** What the skeleton overlay drew, and when it next needs drawing (0: next animation frame; null: not). */
  interface PoseDrawn {
    state: "live" | "fading" | "gone";
    redrawIn: number | null;
  }
  interface Panels {
    frameSituation(record: NodeRecord, connection: Connection, framesSince: number | null): FrameSituation;
    PoseOverlay: new () => { el: SVGSVGElement; update(record: NodeRecord, mode: "over" | "privacy" | "off"): PoseDrawn };
    FrameBox: new (record: NodeRecord) => Part & { redrawIn(): number | null };
    StatusBlock: new (options: { large: boolean }) => RecordPart;
    CardView: new (record: NodeRecord) => Part & { id: string; destroy(): void };
    CalibrationAdvice: new (record: NodeRecord) => Part;
    TodayPanel: new () => RecordPart;
    HistoryPanel: new () => RecordPart;
    CameraPanel: new () => RecordPart;
    SettingsPanel: new (record: NodeRecord) => Part;
    ActivityPanel: new () => RecordPart;
    AboutPanel: new () => RecordPart;
    DetailView: new (record: NodeRecord) => Part & { id: string; title: HTMLElement; destroy(): void; redrawIn(): number | null };
  }

  type Route = { name: "overview" } | { name: "node"; id: string };
  interface ViewElements {
    conn: HTMLElement;
    connIcon: SVGSVGElement;
    connText: HTMLElement;
    connDetail: HTMLElement;
    signin: HTMLButtonElement;
    user: HTMLElement;
    alerts: HTMLElement;
    staleNotice: HTMLElement;
    back: HTMLElement;
    overview: HTMLElement;
    grid: HTMLElement;
    detail: HTMLElement;
    empty: HTMLElement;
    emptyTitle: HTMLElement;
    emptyText: HTMLElement;
    emptySignin: HTMLElement;
  }
  interface View {
    problems: string[];
    renders: number;
    requestRender(): void;
    setRoute(route: Route): void;
    focusTitle(): void;
  }

  // ------------------------------------------------------------------ the namespace

  interface Namespace {
    contract: Contract;
    constants: Constants;
    config: {
      defaultBrokerUrl(location: Location | URL): string;
      parseParams(location: Location | URL): PageOptions;
      isLoopbackHost(hostname: string): boolean;
      exposesPassword(brokerUrl: string | null): boolean;
    };
    format: Format;
    Store: new () => Store;
    NodeRecord: new (id: string) => NodeRecord;
    Connection: new (options: ConnectionOptions) => Connection;
    connectionInternals: {
      stateFilters(nodes: string[]): string[];
      frameFilter(node: string): string;
      parseTopic(topic: string): { node: string; leaf: string } | null;
    };
    dom: Dom;
    describe: Describe;
    panels: Panels;
    View: new (options: { store: Store; connection: Connection; elements: ViewElements; onFocus?: (id: string | null) => void }) => View;
    parseRoute(hash: string): Route;
    // Set once the page has booted (js/app.js), for the console and the browser tests.
    app?: unknown;
    store?: Store;
    connection?: Connection;
    view?: View;
  }
}
