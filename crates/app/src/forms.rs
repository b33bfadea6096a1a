//! The pre-filled application form of a booking (M1): what the applicant would otherwise copy
//! by hand at the hall, taken from the booking and the identity number — what the booker
//! stated — and never from the registry records. A booking can be made for someone else with
//! the booker's own phone, so its form must not tell the booker the applicant's household
//! city or any other registry fact (issue 11); the officer reads those from the records at the
//! window, and the household city is left blank to be written by hand.

use crate::{App, AppError, AppResult, Code};
use std::sync::OnceLock;
use wujing_domain::idnum::Sex;
use wujing_domain::ResidentId;
use wujing_forms::{Form, FormFont};

static FONT: OnceLock<Result<FormFont, wujing_forms::FormError>> = OnceLock::new();

impl App {
    fn form_font(&self) -> AppResult<FormFont> {
        // Loaded once: the font file is several megabytes and never changes while running.
        FONT.get_or_init(|| FormFont::load(self.config.cjk_font.as_deref()))
            .clone()
            .map_err(|e| {
                tracing::error!(error = %e, "application forms unavailable");
                AppError::new(
                    Code::FormUnavailable,
                    "申请表暂时无法生成，请到大厅现场填写",
                    "the form cannot be produced right now; fill it in at the hall",
                )
            })
    }

    /// The PDF form of a booking (the caller has already proved access to it).
    pub(crate) async fn application_form(&self, b: &wujing_store::Booking) -> AppResult<Vec<u8>> {
        // Fail early, before the reads, when no font is installed.
        self.form_font()?;
        let v = self.booking_view(b).await?;
        let id = ResidentId::parse(&b.id_number, self.clock.today()).ok();
        let option = b.option_code.as_deref().and_then(|o| {
            self.business(&b.business)
                .ok()
                .and_then(|bv| bv.options.into_iter().find(|x| x.code == o))
                .map(|x| format!("{} {}", x.name_zh, x.name_en))
        });
        let mut rows = vec![(
            "申请类别 Application".to_string(),
            format!("{} {}", v.business.name_zh, v.business.name_en),
        )];
        if let Some(o) = option {
            rows.push(("签注种类 Endorsement".into(), o));
        }
        // The answers given when booking, in words, so the officer need not ask again.
        let answers: wujing_domain::Answers =
            serde_json::from_str(&b.answers_json).unwrap_or_default();
        use wujing_domain::eligibility::{answer_words, DESTINATIONS, RELATIONS, RENEWAL_REASONS};
        if b.business == "passport_renewal" {
            rows.push((
                "换发原因 Reason for renewal".into(),
                answer_words(
                    &RENEWAL_REASONS,
                    answers.renewal_reason.as_deref().unwrap_or(""),
                ),
            ));
        }
        if let Some(d) = &answers.destination {
            rows.push(("前往地 Destination".into(), answer_words(&DESTINATIONS, d)));
        }
        if let Some(r) = &answers.relation {
            rows.push((
                "与被探望人关系 Relation".into(),
                answer_words(&RELATIONS, r),
            ));
        }
        if let Some(g) = &answers.guardian_id_number {
            rows.push(("监护人身份号码 Guardian's ID".into(), g.clone()));
        }
        if let Some(g) = &answers.companion_id_number {
            rows.push(("陪同家属身份号码 Companion's ID".into(), g.clone()));
        }
        rows.push(("姓名 Name".into(), b.name.clone()));
        if let Some(id) = &id {
            let sex = match id.sex() {
                Sex::Male => "男 M",
                Sex::Female => "女 F",
            };
            rows.push(("性别 Sex".into(), sex.into()));
            rows.push((
                "出生日期 Date of birth".into(),
                id.birth_date().format("%Y-%m-%d").to_string(),
            ));
        }
        rows.push(("公民身份号码 ID number".into(), b.id_number.clone()));
        // Left for the applicant to write: not from the records (see the module comment).
        rows.push(("户籍所在地 Household registration".into(), String::new()));
        rows.push(("联系电话 Phone".into(), b.phone.clone()));
        rows.push(("预约号 Booking code".into(), b.code.clone()));
        rows.push((
            "办理大厅 Hall".into(),
            format!("{}（{}）", v.hall.name_zh, v.address_zh),
        ));
        rows.push((
            "预约时间 Time".into(),
            format!("{} {}–{}", v.date, v.start, v.end),
        ));
        if let Some(f) = v.fee_yuan {
            rows.push((
                "费用 Fee".into(),
                format!("{f} 元 yuan（窗口缴纳 paid at the window）"),
            ));
        }
        if let Some(d) = v.processing_working_days {
            rows.push((
                "办理时限 Processing".into(),
                format!("{d} 个工作日 working days"),
            ));
        }
        if let Some(d) = v.processing_calendar_days {
            rows.push(("办理时限 Processing".into(), format!("{d} 日 days")));
        }
        let form = Form {
            title: "中国公民出入境证件申请表".into(),
            subtitle: format!("Application for exit-entry documents · {} · {}", v.business.name_en, v.code),
            rows,
            notes: vec![
                "本表由无境预约系统根据您的预约信息预填，请核对无误后签名；如有错误，请在窗口更正。".into(),
                "Pre-filled by Wujing from your booking. Check it and sign; an officer corrects any mistake at the window.".into(),
                "请按时携带身份证件及所需材料到场，现场拍照采集指纹。".into(),
            ],
            language: "zh-CN".into(),
        };
        self.render_form(form).await
    }

    /// Renders any form with the CJK font.
    pub(crate) async fn render_form(&self, form: Form) -> AppResult<Vec<u8>> {
        let font = self.form_font()?;
        tokio::task::spawn_blocking(move || wujing_forms::render(&form, &font))
            .await
            .map_err(|e| AppError::new(Code::InternalError, "系统内部错误", e.to_string()))?
            .map_err(|e| {
                tracing::error!(error = %e, "form rendering failed");
                AppError::new(Code::InternalError, "系统内部错误", "internal error")
            })
    }
}
