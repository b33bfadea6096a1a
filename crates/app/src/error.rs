//! The errors a use case returns: a registered code ([`Code`]: stable snake_case, one kind and
//! so one HTTP status, default zh-CN and en messages), the messages for this occasion, and
//! optional structured details. The registry is the one list of codes: a call site cannot
//! invent a code or give a known one another status, and docs/API.md is checked against it.

use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;
use wujing_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed input (400).
    Invalid,
    /// A request body over the server's limit (413).
    PayloadTooLarge,
    /// Well-formed but refused by a rule (422).
    Unprocessable,
    /// No or wrong credentials (401).
    Unauthorized,
    /// Credentials fine, action not allowed (403).
    Forbidden,
    /// Unknown resource (404).
    NotFound,
    /// Conflicts with the current state (409).
    Conflict,
    /// No longer available (410).
    Gone,
    /// Too many requests (429).
    RateLimited,
    /// A dependency is down (503).
    Unavailable,
    /// A bug or an unexpected database failure (500).
    Internal,
}

/// Declares the registry: each code once, with the one HTTP status (by kind) it is always
/// answered with and its default zh-CN and en messages. A call site may give a more precise
/// message, never another status: the status belongs to the code.
macro_rules! codes {
    ($($variant:ident = $code:literal, $kind:ident, $zh:literal, $en:literal;)*) => {
        /// Every error code Wujing answers with. The snake_case string is the stable API
        /// contract (docs/API.md lists each one; a test holds the two together).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the registry's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable snake_case code sent to callers.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// What kind of failure this is, which decides the HTTP status.
            pub const fn kind(self) -> ErrorKind {
                match self {
                    $(Code::$variant => ErrorKind::$kind,)*
                }
            }

            /// The message used when the call site has nothing more precise to say.
            pub const fn default_message(self) -> (&'static str, &'static str) {
                match self {
                    $(Code::$variant => ($zh, $en),)*
                }
            }

            /// The code with this string, if registered (store refusals name theirs).
            pub fn parse(s: &str) -> Option<Code> {
                match s {
                    $($code => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    CollectionFixed = "collection_fixed", Conflict, "证件已发出或申请已结束，领取方式不能再更改", "the document has left or the application has ended; the way of collection can no longer change";
    CollectionInvalid = "collection_invalid", Invalid, "领取方式须为窗口领取（counter）、自助取证机（locker）或邮寄（mail）", "the way of collection must be counter, locker or mail";
    SignatureRequired = "signature_required", Invalid, "请先由申请人签收再交付证件", "the applicant must sign the receipt before the document is handed over";
    MissingItemsInvalid = "missing_items_invalid", Invalid, "请列出1到10项缺少的材料，每项不超过100个字", "list 1 to 10 missing materials, each at most 100 characters";
    MailAddressInvalid = "mail_address_invalid", Invalid, "邮寄地址须为一行，8到120个字", "the mail address must be one line of 8 to 120 characters";
    StatsPeriodInvalid = "stats_period_invalid", Invalid, "统计期间须为不超过400天的日期范围（YYYY-MM-DD），且起始日不晚于截止日", "the period must be dates (YYYY-MM-DD), the first not after the last, spanning at most 400 days";
    StatsFilterInvalid = "stats_filter_invalid", Invalid, "没有这个业务或渠道", "no such business or channel";
    OfficerNotFound = "officer_not_found", NotFound, "没有这位民警", "no such officer";
    TextInvalid = "text_invalid", Invalid, "内容含有不允许的控制字符", "the text contains a control character that is not allowed";
    PayloadTooLarge = "payload_too_large", PayloadTooLarge, "请求内容过大", "the request body is too large";
    Timeout = "timeout", Unavailable, "处理超时，请稍后再试；如为提交操作，请先查询结果再重试", "the request took too long; if it changed something, check the outcome before retrying";
    TooManyListeners = "too_many_listeners", Unavailable, "叫号屏的实时连接已满，请稍后再试", "the board has as many live listeners as it serves; try again shortly";
    SimulationOverlaps = "simulation_overlaps", Conflict, "模拟年份的日期已有号源，模拟数据不能与之重叠", "slots exist in the simulated year's days: a simulation cannot overlap them";
    AlertAcknowledged = "alert_acknowledged", Conflict, "该提醒已有人确认", "someone has acknowledged this alert";
    AlertNotFound = "alert_not_found", NotFound, "没有这条提醒", "no such alert";
    AlreadyAccepted = "already_accepted", Conflict, "该号已受理", "already accepted";
    AlreadyBooked = "already_booked", Conflict, "您已有一笔同类业务的有效预约；如需改期，请使用改约", "this identity already has an active booking for this business; reschedule it instead";
    AlreadyCheckedIn = "already_checked_in", Conflict, "该预约已签到，请留意叫号", "this booking has checked in already; wait for your number";
    AlreadyEntered = "already_entered", Conflict, "该证件号码已登记过这一天的摇号", "this identity has already entered this day's lottery";
    AlreadyPaid = "already_paid", Conflict, "该号已缴费", "this ticket has been paid";
    AlreadyQueued = "already_queued", Conflict, "该证件号码今天已有此项业务的排队号；过号请到咨询台重新排队", "this identity already has a number for this business today; a missed number is requeued at the information desk";
    AlreadyRated = "already_rated", Conflict, "已评价，谢谢", "already rated, thank you";
    ApplicationIncomplete = "application_incomplete", Unprocessable, "拒绝须写明理由代码，制证须填写证件号码", "a refusal needs its reason code and a produced document its number";
    ApplicationMoveIllegal = "application_move_illegal", Conflict, "该申请当前的状态不能进行此操作", "this step is not possible in the application's current state";
    ApplicationNotFound = "application_not_found", NotFound, "没有这份申请", "no such application";
    ApplicationStateChanged = "application_state_changed", Conflict, "该申请的状态刚刚有变化，请刷新后再操作", "the application has just changed; reload and try again";
    AuthorityInvalid = "authority_invalid", Invalid, "服务机构信息有误，见 details.fields", "the authority's details are not valid; see details.fields";
    AuditSearchByIdentityForbidden = "audit_search_by_identity_forbidden", Forbidden, "限定大厅的人员不能按证件号码检索审计记录", "staff limited to halls cannot search the audit trail by an identity number";
    BodyInvalid = "body_invalid", Invalid, "请求内容的某个字段有误", "a field of the request body is wrong";
    BookingLapsed = "booking_lapsed", Conflict, "签到时间已过，该预约已失效", "the check-in time has passed; the booking has lapsed";
    BookingNotActive = "booking_not_active", Conflict, "该预约已取消", "the booking is cancelled";
    BookingNotFound = "booking_not_found", NotFound, "没有找到该预约", "no such booking";
    BookingStarted = "booking_started", Conflict, "预约时段已开始，不能再取消", "the booked slot has started and can no longer be cancelled";
    BookingUsed = "booking_used", Conflict, "该预约已签到办理，不能再改约或取消", "the booking has been checked in and used; it can no longer be rescheduled or cancelled";
    BusinessNotOffered = "business_not_offered", Unprocessable, "该大厅不办理这项业务", "this hall does not handle this business";
    CannotLockSelfOut = "cannot_lock_self_out", Invalid, "不能停用自己或撤销自己的管理员角色", "you cannot disable yourself or remove your own administrator role";
    CapacityBelowTaken = "capacity_below_taken", Conflict, "已有时段的已约人数超过新的容量，请先改约或取消这些预约", "some slots already have more seats taken than the new capacity; move or cancel those bookings first";
    CapacityInvalid = "capacity_invalid", Invalid, "每个时段最多500个号", "at most 500 seats per slot";
    ChangeRefused = "change_refused", Conflict, "操作被拒绝", "the change was refused";
    ChannelInvalid = "channel_invalid", Invalid, "未知的受理渠道", "unknown channel";
    ChannelNotYours = "channel_not_yours", Forbidden, "受理渠道由调用方的身份确定", "the channel is set by who calls";
    CheckinTooEarly = "checkin_too_early", Conflict, "还未到签到时间", "check-in has not opened yet";
    CheckinTooLate = "checkin_too_late", Conflict, "已超过签到时间，请到咨询台改约或现场取号", "check-in has closed; reschedule or take a walk-in number at the information desk";
    CodeRateLimited = "code_rate_limited", RateLimited, "验证码发送过于频繁，请稍后再试", "too many codes; try again later";
    CompartmentJammed = "compartment_jammed", Conflict, "存放您证件的格口柜门故障，请到取证窗口出示身份证领取证件", "the door of your document's compartment is jammed; collect the document at the collection counter with your ID card";
    CompartmentNotJammed = "compartment_not_jammed", Conflict, "该格口没有卡住", "this compartment is not jammed";
    CompartmentOccupied = "compartment_occupied", Conflict, "要移除的格口中有待取的证件", "a compartment to be removed holds a document";
    CompartmentUnknown = "compartment_unknown", NotFound, "本取证机没有这个格口", "this locker has no such compartment";
    ContentTypeInvalid = "content_type_invalid", Invalid, "请求须为 JSON（Content-Type: application/json）", "the request body must be JSON (Content-Type: application/json)";
    CsrfInvalid = "csrf_invalid", Forbidden, "页面已过期或来源不明，请刷新后重试", "the form has expired or did not come from Wujing; reload and try again";
    CurrentPasswordWrong = "current_password_wrong", Invalid, "当前密码不正确", "the current password is wrong";
    DateInPast = "date_in_past", Invalid, "开始日期已过去", "the start date is in the past";
    DateOutOfRange = "date_out_of_range", Unprocessable, "该日期超出可预约范围", "the date is beyond the booking horizon";
    DateRangeInvalid = "date_range_invalid", Invalid, "结束日期须在开始日期之后，且相差不超过31天", "the end date must follow the start date by at most 31 days";
    DayHasBookings = "day_has_bookings", Conflict, "当天已有预约，不能闭厅；请先为市民改约", "the day has bookings; move them before closing the hall";
    DayInPast = "day_in_past", Invalid, "不能修改过去的日期", "past days cannot change";
    EmblemInvalid = "emblem_invalid", Invalid, "徽标须为 PNG 或 JPEG 图片，不超过 256 KB", "the emblem must be a PNG or JPEG image of at most 256 KB";
    DeviceAlertCleared = "device_alert_cleared", Conflict, "该设备提醒已解除", "this device alert has been cleared already";
    DeviceAlertNotFound = "device_alert_not_found", NotFound, "没有这条设备提醒", "no such device alert";
    DeviceKindInvalid = "device_kind_invalid", Invalid, "设备类型须为 bzy、qtt、wej、zjt、tbj、qzj、sqy、yyj、check_in、rating_terminal 或 display_board", "the device kind must be bzy, qtt, wej, zjt, tbj, qzj, sqy, yyj, check_in, rating_terminal or display_board";
    DeviceNameInvalid = "device_name_invalid", Invalid, "设备名称须为1到60个字符", "the device name must be 1 to 60 characters";
    DeviceRevoked = "device_revoked", Conflict, "该设备已吊销，请登记新设备", "the device has been revoked; register a new one";
    DeviceWindowInvalid = "device_window_invalid", Invalid, "前台通和评价器须指定本办证点的一个窗口，其他设备不设窗口", "a qtt or a rating terminal needs one of its site's windows; other devices have none";
    HeartbeatInvalid = "heartbeat_invalid", Invalid, "心跳内容有误：外设或状态不在协议列表中", "the heartbeat names a peripheral or a state the protocol does not list";
    PairingCollision = "pairing_collision", Conflict, "请重新获取配对码", "ask for a new pairing code";
    PairingThrottled = "pairing_throttled", RateLimited, "配对尝试过于频繁，请稍后再试", "too many pairing attempts; try again later";
    PairingUnknown = "pairing_unknown", NotFound, "配对码不存在或已过期，请在终端上重新获取", "no such pairing code, or it has expired; ask the kiosk for a new one";
    DeviceTokenInvalid = "device_token_invalid", Unauthorized, "设备令牌无效或已吊销", "the device token is invalid or revoked";
    DisplayNameInvalid = "display_name_invalid", Invalid, "姓名须为1到40个字符", "the name must be 1 to 40 characters";
    DocumentNumberInvalid = "document_number_invalid", Invalid, "证件号码须为5到20位大写字母或数字", "the document number must be 5 to 20 capital letters or digits";
    DocumentNumberTaken = "document_number_taken", Conflict, "该证件号码已用于另一本证件", "this document number belongs to another document";
    SystemTokenInvalid = "system_token_invalid", Unauthorized, "系统令牌无效或已吊销", "the system token is invalid or revoked";
    SystemClientNameTaken = "system_client_name_taken", Conflict, "已有同名的系统客户端", "a system client with this name exists";
    SystemClientNameInvalid = "system_client_name_invalid", Invalid, "系统客户端名称须为1到60个字母、数字、点、横线或下划线", "the system client name must be 1 to 60 letters, digits, dots, hyphens or underscores";
    SystemClientKindInvalid = "system_client_kind_invalid", Invalid, "未知的系统客户端类型", "unknown system client kind";
    ProductionQueueEmpty = "production_queue_empty", Conflict, "没有待制证的已批准申请", "no approved application is waiting for production";
    BatchLimitInvalid = "batch_limit_invalid", Invalid, "每批最多200份申请，至少1份", "a batch takes 1 to 200 applications";
    BatchNotFound = "batch_not_found", NotFound, "找不到该制证批次", "no such production batch";
    DocumentAlreadyNumbered = "document_already_numbered", Conflict, "该证件已登记了另一个证件号码", "this document already has another number";
    DrawNotFound = "draw_not_found", NotFound, "该日尚未摇号", "no draw has been made for that day";
    EmailInvalid = "email_invalid", Invalid, "电子邮箱地址格式不正确", "the e-mail address is not valid";
    EntryNotFound = "entry_not_found", NotFound, "没有找到与该登记号和证件号码相符的摇号登记", "no lottery entry matches this number and identity number";
    Forbidden = "forbidden", Forbidden, "您没有执行此操作的权限", "you are not allowed to do this";
    FormExpired = "form_expired", Invalid, "页面已失效，请从头开始", "the page has expired; please start again";
    FormUnavailable = "form_unavailable", Unavailable, "申请表暂时无法生成，请到大厅现场填写", "the form cannot be produced right now; fill it in at the hall";
    FromInPast = "from_in_past", Invalid, "不能修改过去日期的容量", "capacity of past days cannot change";
    HallFieldInvalid = "hall_field_invalid", Invalid, "大厅信息须为1到200个字符", "hall details must be 1 to 200 characters";
    HallNotFound = "hall_not_found", NotFound, "没有这个大厅", "no such hall";
    HallsInvalid = "halls_invalid", Invalid, "请选择一至三个意向大厅", "choose one to three halls, most wanted first";
    HoldExpired = "hold_expired", Gone, "锁定的时段已超时释放，请重新选择", "the hold has expired and its seat was released; choose a slot again";
    HoldNotFound = "hold_not_found", NotFound, "没有找到该锁定的时段，请重新选择", "the hold was not found; choose a slot again";
    HoldUsed = "hold_used", Conflict, "该锁定已用于一笔预约", "this hold has already been used for a booking";
    HoursInvalid = "hours_invalid", Invalid, "hours 须在1到720之间", "hours must be between 1 and 720";
    IdNumberBirthDate = "id_number_birth_date", Invalid, "身份号码中的出生日期无效", "the birth date in the identity number is not valid";
    IdNumberBirthDateFuture = "id_number_birth_date_future", Invalid, "身份号码中的出生日期晚于今天", "the birth date in the identity number is in the future";
    IdNumberCharacter = "id_number_character", Invalid, "身份号码含有无效字符", "the identity number has an invalid character";
    IdNumberChecksum = "id_number_checksum", Invalid, "身份号码校验码错误，请核对各位数字", "the identity number's check digit is wrong; check every digit";
    IdNumberLength = "id_number_length", Invalid, "身份号码应为18位", "the identity number must have 18 characters";
    IdNumberRegion = "id_number_region", Invalid, "身份号码的行政区划代码无效", "the region code of the identity number is not valid";
    IdNumberRequired = "id_number_required", Invalid, "请在 X-Id-Number 请求头中提供证件号码", "send the identity number in the X-Id-Number header";
    IdTypeInvalid = "id_type_invalid", Invalid, "不支持的证件类型", "unsupported identity document type";
    InternalError = "internal_error", Internal, "系统内部错误", "internal error";
    JsonInvalid = "json_invalid", Invalid, "请求内容不是有效的 JSON", "the request body is not valid JSON";
    LockerInvalid = "locker_invalid", Invalid, "格口设置有误：给出数量（1至500）或编号列表（每个1至16位大写字母、数字或连字符，不重复）", "give a count (1 to 500) or a list of labels (each 1 to 16 capital letters, digits or hyphens, no repeats)";
    LoginFailed = "login_failed", Unauthorized, "用户名或密码错误", "wrong user name or password";
    LoginThrottled = "login_throttled", RateLimited, "登录尝试过于频繁，请稍后再试", "too many sign-in attempts; try again later";
    LotteryClosed = "lottery_closed", Unprocessable, "摇号登记已结束", "lottery entries are closed";
    LotteryNotOpen = "lottery_not_open", Unprocessable, "摇号登记尚未开始", "lottery entries are not open yet";
    LotteryNotUsed = "lottery_not_used", Unprocessable, "预约名额按时间放出，无需摇号登记，请直接预约", "seats are released on a rolling window without a lottery; book directly";
    LotteryPending = "lottery_pending", Unprocessable, "该日预约名额正在摇号，请等待结果", "the seats of that day are being drawn; wait for the result";
    MethodInvalid = "method_invalid", Invalid, "付款方式须为 card、qr 或 cash", "the method must be card, qr or cash";
    MethodNotAllowed = "method_not_allowed", Invalid, "该接口不支持此请求方法", "this endpoint does not support the request method";
    MrzCharacters = "mrz_characters", Unprocessable, "机读区只能含有大写字母、数字和填充符<", "a machine-readable zone holds only capital letters, digits and the filler <";
    MrzCheckFailed = "mrz_check_failed", Unprocessable, "护照机读区校验未通过，可能读错了，请重新放置护照", "the passport's machine-readable zone failed its check digits (probably misread); put the passport on the reader again";
    MrzFormatUnknown = "mrz_format_unknown", Unprocessable, "无法识别的证件类型：机读区应为护照、签证、ICAO证件或往来港澳/台湾通行证", "unknown document: the zone is not a passport, visa, ICAO card or a Mainland travel permit for Hong Kong, Macao or Taiwan";
    MrzLineCount = "mrz_line_count", Unprocessable, "机读区应为两行（护照、签证）或三行（证卡）", "a machine-readable zone has two lines (passports, visas) or three (cards)";
    MrzLineLength = "mrz_line_length", Unprocessable, "机读区每行应为30、36或44个字符，且各行等长", "each line of a machine-readable zone has 30, 36 or 44 characters, all lines alike";
    MrzWrongPage = "mrz_wrong_page", Unprocessable, "读取的不是所需的证件页，请按提示放上护照资料页或签证页", "the page read is not the one asked for: put the passport's photo page, or its visa page, on the reader as the screen says";
    NameRequired = "name_required", Invalid, "请填写姓名（不超过64个字）", "enter the applicant's name (at most 64 characters)";
    NationalityInvalid = "nationality_invalid", Invalid, "请填写三位字母的国籍代码（如DEU）", "give the nationality as a three-letter code such as DEU";
    NoWalkIns = "no_walk_ins", Conflict, "本大厅不设现场号", "this hall takes appointments only";
    NotEligible = "not_eligible", Unprocessable, "不符合办理条件，详见各项原因", "not eligible; see the reasons";
    NotFound = "not_found", NotFound, "找不到该记录", "not found";
    NotReady = "not_ready", Unavailable, "服务尚未就绪", "the service is not ready";
    NotRefundable = "not_refundable", Conflict, "没有可退的款项", "nothing to refund";
    NotYetReleased = "not_yet_released", Unprocessable, "该日的预约名额尚未放出", "the seats of that day are not released yet";
    NothingToRate = "nothing_to_rate", Conflict, "该窗口暂无待评价的业务", "nothing to rate at this window";
    OutcomeRequired = "outcome_required", Invalid, "请填写处理结果（500字以内）", "record what was done (up to 500 characters)";
    PassportNumberInvalid = "passport_number_invalid", Invalid, "护照号码应为5至20位字母或数字", "the passport number should be 5 to 20 letters or digits";
    PasswordIsUsername = "password_is_username", Invalid, "密码不能与用户名相同", "the password must not be the user name";
    PasswordTooShort = "password_too_short", Invalid, "密码太短", "the password is too short";
    PathInvalid = "path_invalid", Invalid, "路径参数有误", "a path parameter is wrong";
    PaymentNotFound = "payment_not_found", NotFound, "该号没有缴费记录", "no payment for this ticket";
    PhoneCodeExpired = "phone_code_expired", Invalid, "验证码已失效，请重新获取", "the code has expired; ask for a new one";
    PhoneCodeRequired = "phone_code_required", Invalid, "请先获取并填写手机验证码", "ask for the code sent to your phone and enter it";
    PhoneCodeUsed = "phone_code_used", Invalid, "该验证码已使用过，请重新获取", "this code has been used already; ask for a new one";
    PhoneCodeWrong = "phone_code_wrong", Invalid, "验证码不正确", "wrong code";
    PhoneInvalid = "phone_invalid", Invalid, "手机号码格式不正确：应为11位中国大陆手机号，或以+开头的国际号码", "the phone number should be an 11-digit mainland mobile number or an international number starting with +";
    PickupCodeInvalid = "pickup_code_invalid", Unprocessable, "证件号码或取件码不正确", "the identity number or the pickup code is wrong";
    PoolInvalid = "pool_invalid", Invalid, "号源池须为 online、on_site 或 expedite", "the pool must be online, on_site or expedite";
    ProofThrottled = "proof_throttled", RateLimited, "证件号码核对失败次数过多，请稍后再试，或用手机验证码查询我的预约", "too many failed identity checks; try again later, or find your bookings with a phone code";
    PurposeInvalid = "purpose_invalid", Invalid, "用途须为 book 或 lookup", "purpose must be book or lookup";
    QueryInvalid = "query_invalid", Invalid, "查询参数有误", "a query parameter is wrong";
    QueueInvalid = "queue_invalid", Invalid, "队列须为 A、E、F 或 W", "the queue must be A, E, F or W";
    RateLimited = "rate_limited", RateLimited, "请求过于频繁，请稍后再试", "too many requests; try again later";
    ReasonInvalid = "reason_invalid", Invalid, "未知的评价原因", "unknown reason";
    ReasonRequired = "reason_required", Invalid, "查看完整证件号须填写事由（200字以内）", "revealing a full number needs a reason (up to 200 characters)";
    ReferenceRequired = "reference_required", Invalid, "请填写终端交易参考号", "enter the terminal's transaction reference";
    RefusalReasonInvalid = "refusal_reason_invalid", Invalid, "请选择一个不予批准的理由代码", "choose one of the refusal reason codes";
    RoleInvalid = "role_invalid", Invalid, "角色设置有误", "the role grant is not valid";
    RouteNotFound = "route_not_found", NotFound, "没有这个接口，请查阅 /api/openapi.json", "no such endpoint; see /api/openapi.json";
    SameSlot = "same_slot", Conflict, "新时段与原时段相同", "the new slot is the one already booked";
    ScoreInvalid = "score_invalid", Invalid, "评价须为满意、基本满意或不满意", "the rating must be satisfied, basic or unsatisfied";
    SignInRequired = "sign_in_required", Unauthorized, "请先登录", "please sign in first";
    SlotFull = "slot_full", Conflict, "该时段已约满，请选择其他时段或其他大厅", "this slot is full; choose another time or another hall";
    SlotInPast = "slot_in_past", Unprocessable, "该时段已经开始或已过去", "this slot has already started";
    SlotNotAtSite = "slot_not_at_site", Unprocessable, "本机只能预约本大厅的时段", "this machine books this hall's times only";
    SlotNotBookable = "slot_not_bookable", Unprocessable, "该时段留给现场取号或加急窗口，不能网上预约", "this slot is kept for walk-ins or the expedite desk and cannot be booked online";
    SlotNotFound = "slot_not_found", NotFound, "没有这个时段", "no such slot";
    StaffNotFound = "staff_not_found", NotFound, "没有这个工作人员账号", "no such staff account";
    TicketNotFound = "ticket_not_found", NotFound, "没有这个号", "no such ticket";
    TicketState = "ticket_state", Conflict, "该号当前状态不能执行此操作", "the ticket is not in a state that allows this";
    TrackingNumberInvalid = "tracking_number_invalid", Invalid, "邮寄运单号须为13位（如EA123456785CN）", "the tracking number must have 13 characters (e.g. EA123456785CN)";
    Unavailable = "unavailable", Unavailable, "系统繁忙，请稍后再试", "the service is temporarily unavailable; try again shortly";
    UnknownBusiness = "unknown_business", Unprocessable, "没有这项业务", "there is no such business";
    UrgentDecided = "urgent_decided", Conflict, "该申请已审批", "already decided";
    UrgentNotFound = "urgent_not_found", NotFound, "没有这个加急申请", "no such urgent request";
    UrgentOpen = "urgent_open", Conflict, "该号已有待审批的加急申请", "an urgent request is already waiting";
    UsernameInvalid = "username_invalid", Invalid, "用户名须为3到32位小写字母、数字或 . _ -", "the user name must be 3 to 32 lower-case letters, digits or . _ -";
    UsernameTaken = "username_taken", Conflict, "该用户名已被使用", "this user name is taken";
    WalkInClosed = "walk_in_closed", Conflict, "现在不是现场取号时段", "walk-in numbers are not given at this time";
    WalkInsFull = "walk_ins_full", Conflict, "本时段现场号已发完，请稍后再来或网上预约", "this period's walk-in numbers are all given; come back later or book online";
    WindowExists = "window_exists", Conflict, "该窗口号已存在", "this window number exists already";
    WindowInvalid = "window_invalid", Invalid, "窗口号须为1到999，类型须为 general、foreigners、expedite 或 collection", "the window number must be 1 to 999 and the kind general, foreigners, expedite or collection";
    WindowNotFound = "window_not_found", NotFound, "该大厅没有这个窗口", "no such window in this hall";
    WrongHall = "wrong_hall", Conflict, "该预约不在本大厅办理", "the booking is for another hall";
    // The 办证易 and 网e捷 kiosk modes (issue 17, crates/app/src/bzy.rs, docs/KIOSK.md §7).
    EndorsementReissueRefused = "endorsement_reissue_refused", Unprocessable, "本机不能为您办理签注再签，请到窗口办理", "the kiosk cannot re-issue this endorsement; please go to a counter";
    EndorsementReissueInProgress = "endorsement_reissue_in_progress", Conflict, "该通行证正在另一台自助机上办理签注，请稍后再试或到窗口办理", "this permit's endorsement is being re-issued at another kiosk; try again later or go to a counter";
    EndorsementReissueState = "endorsement_reissue_state", Conflict, "该次签注办理已结束或不在这一步，请重新开始", "this re-issue has ended or is not at this step; please start again";
    EndorsementReissueNotFound = "endorsement_reissue_not_found", NotFound, "没有这次签注办理", "no such re-issue";
    FaceNotVerified = "face_not_verified", Unprocessable, "人像比对未通过，请到窗口办理", "the face check did not pass; please go to a counter";
    KioskPaymentNotConfirmed = "kiosk_payment_not_confirmed", Conflict, "支付机构尚未确认这笔付款，请到窗口处理", "the payment provider has not confirmed this payment; please go to a counter";
    CardWriteMismatch = "card_write_mismatch", Unprocessable, "写卡回读不一致，签注未写入，费用将退回，请到窗口办理", "the card read back something else; the endorsement was not written, the fee will be refunded; please go to a counter";
    // 网e捷's on-site write (立等可取, crates/app/src/wej.rs, docs/KIOSK.md §7.3).
    OnsiteWriteNotOffered = "onsite_write_not_offered", Unprocessable, "本机只能写入港澳个人旅游（G）或团队旅游（L）签注，这份申请请按短信提示领取或到窗口咨询", "this machine writes Hong Kong/Macao tourist endorsements (G or L) only; collect this application as your text says, or ask at a counter";
    OnsiteWriteState = "onsite_write_state", Conflict, "这份申请现在不能在本机写入（须已审批通过、尚未制证），请按短信提示领取或到窗口咨询", "this application cannot be written here now (it must be approved and not yet produced); collect it as your text says, or ask at a counter";
    OnsiteWriteNoPermit = "onsite_write_no_permit", Unprocessable, "没有查到有效的电子往来港澳通行证，本机无法写入，请到窗口办理", "no valid e-card Exit-Entry Permit for HK and Macao was found, so this machine cannot write it; please go to a counter";
    OnsiteWriteMismatch = "onsite_write_mismatch", Unprocessable, "写卡回读不一致，签注未写入。签注已制好，仍归您所有，请持通行证到窗口写入", "the card read back something else; the endorsement was not written. It is made and stays yours: please bring your permit to a counter to have it written";
    KioskFeeNotDue = "kiosk_fee_not_due", NotFound, "没有这笔待缴费用", "no such fee due";
    // Online payment (issue 13, crates/app/src/payments.rs).
    PaymentAlreadyPaid = "payment_already_paid", Conflict, "该事项已缴费", "this has been paid already";
    PaymentAmountInvalid = "payment_amount_invalid", Invalid, "缴费金额须为1到100000元，事项名称1到60个字，返回地址须为本站路径", "the amount must be 1 to 100000 yuan, the subject 1 to 60 characters and the return address a path of this site";
    PaymentAmountMismatch = "payment_amount_mismatch", Unprocessable, "通知的金额与订单金额不符，已记录，未入账", "the notified amount differs from the order's; recorded, not accepted";
    PaymentCallbackInvalid = "payment_callback_invalid", Invalid, "支付通知的内容无法识别", "the payment notification cannot be read";
    PaymentDecided = "payment_decided", Conflict, "该笔支付已有结果", "this payment has been decided already";
    PaymentNotDecided = "payment_not_decided", Conflict, "该笔支付尚无结果，没有可重发的通知", "this payment has not been decided; there is no notification to send again";
    OnlinePaymentNotFound = "online_payment_not_found", NotFound, "没有这笔网上支付", "no such online payment";
    PaymentProviderFailed = "payment_provider_failed", Unavailable, "支付机构暂时无法处理，请稍后再试", "the payment provider cannot be reached; try again shortly";
    PaymentSignatureInvalid = "payment_signature_invalid", Unauthorized, "支付通知的签名缺失或不正确", "the payment notification's signature is missing or wrong";
    PaymentsDisabled = "payments_disabled", Unavailable, "本系统未开通网上缴费", "online payment is not enabled on this server";
    // Sites (issue 13 §2).
    SiteInvalid = "site_invalid", Invalid, "办证点信息有误，请按提示修改", "the site's details are not valid; see each field";
    SiteExists = "site_exists", Conflict, "已有同一编号的办证点", "a site with this id exists already";
    // Fully online business (全程网办, issue 13, crates/app/src/remote.rs).
    RemoteNotAvailable = "remote_not_available", Unprocessable, "无法为此身份办理网上申请，请携带身份证到出入境办证大厅办理", "this identity cannot apply online; please apply at an exit-entry hall with your ID card";
    RemoteNotEligible = "remote_not_eligible", Unprocessable, "不符合网上办理条件，详见各项原因", "not eligible for online handling; see the reasons";
    RemoteSiteMissing = "remote_site_missing", Unavailable, "本系统暂未开通网上办理", "online handling is not set up on this server";
    OnlineApplicationNotFound = "online_application_not_found", NotFound, "没有找到该网上申请，请重新开始", "no such online application; please start again";
    OnlineNotDraft = "online_not_draft", Conflict, "该网上申请已进入缴费，不能再修改", "this online application has gone to payment and can no longer be changed";
    OnlineIncomplete = "online_incomplete", Unprocessable, "请先上传合格的照片并选择领取方式", "upload an accepted photo and choose how to receive the document first";
    OnlineNotPayable = "online_not_payable", Conflict, "该网上申请不在待缴费状态", "this online application is not awaiting payment";
    OnlineNotOpen = "online_not_open", Conflict, "该网上申请已提交或已放弃", "this online application was submitted or given up";
    PhotoInvalid = "photo_invalid", Unprocessable, "照片不符合要求，详见各项原因", "the photo does not meet the requirements; see the reasons";
    PhotoMissing = "photo_missing", Invalid, "请选择要上传的照片文件（JPEG，20–80KB）", "choose the photo file to upload (JPEG, 20–80 KB)";
    HotelInvalid = "hotel_invalid", Invalid, "旅馆代码须为3至40个小写字母、数字或连字符，名称和地址须填写", "the hotel code must be 3 to 40 of a–z, 0–9 and -, and the name and address are required";
    HotelCodeTaken = "hotel_code_taken", Conflict, "该旅馆代码已被使用", "this hotel code is taken";
    HotelRevoked = "hotel_revoked", Conflict, "该旅馆已注销", "this hotel is revoked already";
    HotelSignInFailed = "hotel_sign_in_failed", Unauthorized, "旅馆代码或密码错误", "wrong hotel code or password";
    HotelTokenInvalid = "hotel_token_invalid", Unauthorized, "旅馆令牌无效或已注销", "the hotel token is invalid or revoked";
    LodgingInvalid = "lodging_invalid", Unprocessable, "住宿登记信息有误，详见各项原因", "the registration has errors; see the reasons";
    LodgingStayConflict = "lodging_stay_conflict", Conflict, "该住宿单号已登记了不同的内容", "this stay id was registered with different content";
    LodgingNotFound = "lodging_not_found", NotFound, "没有这条住宿登记", "no such accommodation registration";
    LodgingCheckedOut = "lodging_checked_out", Conflict, "该住宿已登记退房", "this stay has checked out already";
    CheckOutInvalid = "check_out_invalid", Unprocessable, "退房日期不能早于入住日期或晚于今天", "the check-out day cannot be before the check-in or after today";
    LodgingNotPending = "lodging_not_pending", Conflict, "该登记不在待核查状态", "this registration is not awaiting verification";
    LodgingDecisionInvalid = "lodging_decision_invalid", Invalid, "核查结果须为 accepted 或 queried（须附说明，不超过200字）", "the decision must be accepted, or queried with a note of at most 200 characters";
    LodgingSiteInvalid = "lodging_site_invalid", Unprocessable, "请选择一个派出所", "choose a police station";
    LodgingBatchInvalid = "lodging_batch_invalid", Invalid, "批量登记须有1至100条", "a batch holds 1 to 100 stays";
    // Foreigners as applicants (issue 14 §2, crates/app/src/foreign.rs).
    BirthDateRequired = "birth_date_required", Invalid, "外国人预约须填写出生日期", "a foreign applicant gives their date of birth";
    BirthDateInvalid = "birth_date_invalid", Invalid, "出生日期不能晚于今天", "the date of birth cannot be in the future";
    PassportLinkSame = "passport_link_same", Invalid, "新旧护照号码相同", "the old and the new passport numbers are the same";
    PassportAlreadyLinked = "passport_already_linked", Conflict, "该护照已登记过换发关系", "this passport is already recorded in a renewal";
    PassportLinkConflict = "passport_link_conflict", Conflict, "两本护照各有一笔同类业务的有效预约：请先取消其中一笔再登记换发", "both passports have an active booking for the same business: cancel one before recording the renewal";
    // The kiosk modes 申请易 and 前台通 (issue 17, crates/app/src/kiosk_sqy.rs, kiosk_qtt.rs).
    BiometricsInvalid = "biometrics_invalid", Invalid, "采集数据格式有误，请重新采集", "the captured data is malformed; capture it again";
    FingerprintsIncomplete = "fingerprints_incomplete", Unprocessable, "指纹采集未按规则完成，请按提示继续采集或到窗口办理", "the fingerprints were not taken as the rules require; continue as the screen says, or go to a counter";
    SignatureMissing = "signature_missing", Unprocessable, "请在签名板上签名，无法签名的请选择“无法签名”", "sign on the pad, or choose \"unable to sign\"";
    KioskBusinessInvalid = "kiosk_business_invalid", Unprocessable, "本机只办理普通护照的申请，其他业务请到窗口办理", "this machine handles passport applications only; other business at a counter";
    NoTicketServed = "no_ticket_served", Conflict, "本窗口当前没有正在办理的号，请等待工作人员叫号", "no ticket is being served at this window; wait for the officer to call one";
    TerminalAmountMismatch = "terminal_amount_mismatch", Unprocessable, "终端扣款金额与应缴费用不符，未入账，请联系工作人员", "the terminal charged another amount than the fee; not recorded, ask the officer";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl From<Code> for AppError {
    fn from(code: Code) -> Self {
        let (zh, en) = code.default_message();
        AppError::new(code, zh, en)
    }
}

impl From<&wujing_domain::IdNumberError> for Code {
    fn from(e: &wujing_domain::IdNumberError) -> Self {
        use wujing_domain::IdNumberError as E;
        match e {
            E::Length { .. } => Code::IdNumberLength,
            E::Character { .. } => Code::IdNumberCharacter,
            E::Region { .. } => Code::IdNumberRegion,
            E::BirthDate { .. } => Code::IdNumberBirthDate,
            E::BirthDateInFuture { .. } => Code::IdNumberBirthDateFuture,
            E::Checksum { .. } => Code::IdNumberChecksum,
        }
    }
}

impl From<wujing_domain::IdNumberError> for AppError {
    fn from(e: wujing_domain::IdNumberError) -> Self {
        AppError::new(Code::from(&e), e.message_zh(), e.message_en())
    }
}

#[derive(Debug, Clone)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: Code,
    pub zh: String,
    pub en: String,
    /// Already serialised, and shared: at release time the same cached alternatives answer
    /// thousands of requests, and copying bytes is far cheaper than serialising a tree.
    pub details: Option<Arc<RawValue>>,
    /// Seconds after which a rate-limited request may be retried.
    pub retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An error with its registered code and a message for this occasion; the kind (and so
    /// the HTTP status) comes from the registry.
    pub fn new(code: Code, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            kind: code.kind(),
            code,
            zh: zh.into(),
            en: en.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Free text with a character it may not contain (see `wujing_domain::text`).
    pub fn text_invalid(c: char) -> Self {
        let cp = format!("U+{:04X}", u32::from(c));
        Self::new(
            Code::TextInvalid,
            format!("内容含有不允许的控制字符（{cp}），请删除后重试"),
            format!("the text contains a control character that is not allowed ({cp}); remove it"),
        )
        .with_details(serde_json::json!({ "character": cp }))
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = serde_json::value::to_raw_value(&details)
            .ok()
            .map(Arc::from);
        self
    }

    pub fn with_shared_details(mut self, details: Arc<RawValue>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn message(&self, english: bool) -> &str {
        if english {
            &self.en
        } else {
            &self.zh
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.en)
    }
}

impl std::error::Error for AppError {}

/// Store errors that a use case did not translate itself. Anything reaching here unexpectedly
/// is an internal error; its text goes to the log, not to the citizen.
impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::new(
                Code::NotFound,
                format!("找不到{what}"),
                format!("{what} not found"),
            ),
            StoreError::RateLimited { retry_after_secs } => {
                let secs = retry_after_secs.max(1) as u64;
                let mut e = Self::new(
                    Code::RateLimited,
                    format!("请求过于频繁，请{secs}秒后再试"),
                    format!("too many requests; retry in {secs} s"),
                )
                .with_details(serde_json::json!({ "retry_after_seconds": secs }));
                e.retry_after = Some(secs);
                e
            }
            StoreError::PhoneCodeUsed => Code::PhoneCodeUsed.into(),
            // A refusal names its conflict; the registry holds its status and messages.
            StoreError::Refused(code) => Code::parse(code).unwrap_or(Code::ChangeRefused).into(),
            StoreError::Unavailable(msg) => {
                tracing::error!(error = %msg, "database unavailable");
                let mut e = Self::from(Code::Unavailable);
                e.retry_after = Some(UNAVAILABLE_RETRY_SECS);
                e
            }
            other => {
                tracing::error!(error = %other, "unexpected store error");
                Self::new(
                    Code::InternalError,
                    "系统内部错误，已记录，请稍后再试",
                    "internal error; it has been logged, please try again",
                )
            }
        }
    }
}

/// How long a caller should wait before retrying while the database is away: long enough not
/// to hammer a recovering server, short enough that a citizen's retry soon succeeds.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_code_is_unique_and_documented_in_the_api_guide() {
        let doc = include_str!("../../../docs/API.md");
        let mut seen = HashSet::new();
        let mut missing = Vec::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} registered twice");
            assert_eq!(Code::parse(code.as_str()), Some(*code));
            let (zh, en) = code.default_message();
            assert!(!zh.is_empty() && !en.is_empty(), "{code} has no message");
            if !doc.contains(&format!("`{}`", code.as_str())) {
                missing.push(code.as_str());
            }
        }
        assert!(
            missing.is_empty(),
            "codes missing from docs/API.md: {missing:?}"
        );
    }

    #[test]
    fn the_api_guide_lists_no_code_that_is_not_registered() {
        let doc = include_str!("../../../docs/API.md");
        let table = doc
            .split("## Error codes")
            .nth(1)
            .expect("docs/API.md has an Error codes section");
        for line in table.lines().take_while(|l| !l.starts_with("## ")) {
            if let Some(code) = line.strip_prefix("| ").and_then(|l| l.split('`').nth(1)) {
                assert!(Code::parse(code).is_some(), "docs/API.md lists `{code}`");
            }
        }
    }

    #[test]
    fn a_code_always_answers_with_its_kind() {
        let e = AppError::new(Code::SlotFull, "满", "full");
        assert_eq!(e.kind, ErrorKind::Conflict);
        let e = AppError::from(Code::Unavailable);
        assert_eq!(e.kind, ErrorKind::Unavailable);
    }
}
