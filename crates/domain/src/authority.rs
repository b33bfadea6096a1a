//! The authority's face (issue 15): whose service this is. A citizen deals with the exit-entry
//! administration, not with a software product, so its name, emblem, hotline, privacy notice,
//! accessibility statement and site filing number (备案号) are configuration, shown in the
//! portal's header and footer, and its short name signs every text message
//! (【广州市公安局出入境管理支队】).
//!
//! Texts are written to the outbox with the product's own tag (`【无境】`, `[Wujing]`) as the
//! place of the signature, and signed as they are delivered ([`Authority::sign`]): a renamed
//! authority signs the messages still queued, and the stored text stays the same whatever the
//! configuration was when it was written.

use serde::{Deserialize, Serialize};

/// The signature's place in a stored Chinese text.
pub const MARK_ZH: &str = "【无境】";
/// The signature's place in a stored English text.
pub const MARK_EN: &str = "[Wujing]";

/// How the authority presents itself. Every text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    /// Full name, e.g. 广州市公安局出入境管理支队.
    pub name_zh: String,
    pub name_en: String,
    /// The signature of text messages, without brackets.
    pub sign_zh: String,
    pub sign_en: String,
    /// The service hotline (12367 is the national immigration service line).
    pub hotline: String,
    /// The privacy notice: paragraphs separated by blank lines.
    pub privacy_zh: String,
    pub privacy_en: String,
    /// The accessibility statement: paragraphs separated by blank lines.
    pub accessibility_zh: String,
    pub accessibility_en: String,
    /// The site filing number (ICP 备案号); empty if none is shown.
    #[serde(default)]
    pub filing_number: String,
}

/// Why a proposed configuration is refused: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub problem_zh: &'static str,
    pub problem_en: &'static str,
}

/// The longest name or signature, in characters: it heads every page and every text.
pub const MAX_NAME_CHARS: usize = 60;
/// The longest signature, in characters: a text message is short.
pub const MAX_SIGN_CHARS: usize = 24;
/// The longest notice or statement, in characters.
pub const MAX_NOTICE_CHARS: usize = 20_000;

impl Authority {
    /// What a deployment shows before its operator configures it: the product's own name (so
    /// that nothing claims to be an authority it is not), the national hotline, and notices
    /// that describe what Wujing itself does with personal data.
    pub fn product_default() -> Self {
        Self {
            name_zh: "无境 出入境服务".into(),
            name_en: "Wujing exit-entry service".into(),
            sign_zh: "无境".into(),
            sign_en: "Wujing".into(),
            hotline: "12367".into(),
            privacy_zh: PRIVACY_ZH.into(),
            privacy_en: PRIVACY_EN.into(),
            accessibility_zh: ACCESSIBILITY_ZH.into(),
            accessibility_en: ACCESSIBILITY_EN.into(),
            filing_number: String::new(),
        }
    }

    /// Trims every field and checks it; every problem found, not just the first.
    pub fn normalised(mut self) -> Result<Self, Vec<Invalid>> {
        for f in [
            &mut self.name_zh,
            &mut self.name_en,
            &mut self.sign_zh,
            &mut self.sign_en,
            &mut self.hotline,
            &mut self.privacy_zh,
            &mut self.privacy_en,
            &mut self.accessibility_zh,
            &mut self.accessibility_en,
            &mut self.filing_number,
        ] {
            *f = f.trim().replace("\r\n", "\n");
        }
        let mut out = Vec::new();
        let mut need = |field, v: &str, max: usize| {
            if v.is_empty() {
                out.push(Invalid {
                    field,
                    problem_zh: "不能为空",
                    problem_en: "may not be empty",
                });
            } else if v.chars().count() > max {
                out.push(Invalid {
                    field,
                    problem_zh: "太长",
                    problem_en: "is too long",
                });
            } else if v.chars().any(|c| c.is_control() && c != '\n') {
                out.push(Invalid {
                    field,
                    problem_zh: "含有控制字符",
                    problem_en: "contains control characters",
                });
            }
        };
        need("name_zh", &self.name_zh, MAX_NAME_CHARS);
        need("name_en", &self.name_en, MAX_NAME_CHARS);
        need("sign_zh", &self.sign_zh, MAX_SIGN_CHARS);
        need("sign_en", &self.sign_en, MAX_SIGN_CHARS);
        need("hotline", &self.hotline, 20);
        need("privacy_zh", &self.privacy_zh, MAX_NOTICE_CHARS);
        need("privacy_en", &self.privacy_en, MAX_NOTICE_CHARS);
        need("accessibility_zh", &self.accessibility_zh, MAX_NOTICE_CHARS);
        need("accessibility_en", &self.accessibility_en, MAX_NOTICE_CHARS);
        // Names and signatures are one line: a line break would split a text's first line.
        for (field, v) in [
            ("name_zh", &self.name_zh),
            ("name_en", &self.name_en),
            ("sign_zh", &self.sign_zh),
            ("sign_en", &self.sign_en),
        ] {
            if v.contains('\n') {
                out.push(Invalid {
                    field,
                    problem_zh: "只能有一行",
                    problem_en: "must be one line",
                });
            }
        }
        // The brackets are added when a text is signed; one inside would end the signature.
        for (field, v) in [("sign_zh", &self.sign_zh), ("sign_en", &self.sign_en)] {
            if v.contains(['【', '】', '[', ']']) {
                out.push(Invalid {
                    field,
                    problem_zh: "不要包含括号，发送时会自动加上",
                    problem_en: "must not contain brackets: they are added when a text is sent",
                });
            }
        }
        // A number a phone can dial: digits with hyphens or spaces, an optional leading +.
        let h = self.hotline.strip_prefix('+').unwrap_or(&self.hotline);
        let dialable = h
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
            && h.chars().filter(char::is_ascii_digit).count() >= 3;
        if !h.is_empty() && !dialable {
            out.push(Invalid {
                field: "hotline",
                problem_zh: "须为可拨打的号码，如 12367",
                problem_en: "must be a number a phone can dial, such as 12367",
            });
        }
        if self.filing_number.chars().count() > MAX_NAME_CHARS || self.filing_number.contains('\n')
        {
            out.push(Invalid {
                field: "filing_number",
                problem_zh: "须为一行，不超过60字",
                problem_en: "must be one line of at most 60 characters",
            });
        }
        if out.is_empty() {
            Ok(self)
        } else {
            Err(out)
        }
    }

    /// A stored text, signed: its leading product tag replaced by the authority's signature.
    /// A text without the tag is left as it is (nothing is ever signed twice).
    pub fn sign(&self, body: &str) -> String {
        if let Some(rest) = body.strip_prefix(MARK_ZH) {
            format!("【{}】{rest}", self.sign_zh)
        } else if let Some(rest) = body.strip_prefix(MARK_EN) {
            format!("[{}]{rest}", self.sign_en)
        } else {
            body.to_string()
        }
    }

    /// The notice's paragraphs in a language, for a page.
    pub fn paragraphs(text: &str) -> Vec<&str> {
        text.split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// An emblem image the operator supplies, checked to be what its type says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmblemType {
    Png,
    Jpeg,
}

/// The largest emblem accepted: it is served on every portal page.
pub const MAX_EMBLEM_BYTES: usize = 256 * 1024;

impl EmblemType {
    /// The image type from the bytes themselves (their signature), not from a label: a file
    /// that is not a PNG or JPEG image is refused, and SVG (which can carry script) is never
    /// accepted.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 24 {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }
}

const PRIVACY_ZH: &str = "本服务为办理出入境证件预约、受理、审批、制证和领取而处理您的个人信息：姓名、公民身份号码或护照信息、手机号码，以及您在申请中填写的内容。

这些信息在数据库中加密保存，页面和日志中只显示遮盖后的号码。工作人员查看完整号码会被记录，并接受监督部门审查。

验证码只发送到您本人的手机。工作人员不会向您索取验证码。

如对个人信息的处理有疑问，请拨打服务热线。";

const PRIVACY_EN: &str = "This service processes your personal data to book, accept, decide, produce and hand over exit-entry documents: your name, resident ID number or passport details, phone number, and what you enter in your application.

The data is stored encrypted; pages and logs show only masked numbers. Every time staff reveal a full number it is recorded and reviewed by the supervision office.

One-time codes are sent only to your own phone. Staff never ask you for a code.

If you have a question about how your data is handled, call the service hotline.";

const ACCESSIBILITY_ZH: &str = "本网站力求让每一位市民都能使用：页面可在手机上使用，支持键盘操作和读屏软件，提供大字版，并以中文和英文提供。

如您在使用中遇到困难，请拨打服务热线，工作人员将协助您预约。";

const ACCESSIBILITY_EN: &str = "This site aims to be usable by everyone: it works on a phone, with a keyboard and with screen readers, offers large text, and is available in Chinese and English.

If something stands in your way, call the service hotline and an operator will book for you.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_default_is_valid_and_names_no_authority() {
        let a = Authority::product_default().normalised().unwrap();
        assert_eq!(a.sign_zh, "无境");
        assert!(!a.name_zh.contains("公安"));
    }

    #[test]
    fn signing_replaces_only_the_leading_tag_once() {
        let mut a = Authority::product_default();
        a.sign_zh = "广州市公安局出入境管理支队".into();
        a.sign_en = "Guangzhou Exit-Entry".into();
        assert_eq!(
            a.sign("【无境】您的验证码是 123456"),
            "【广州市公安局出入境管理支队】您的验证码是 123456"
        );
        assert_eq!(
            a.sign("[Wujing] Your code is 1"),
            "[Guangzhou Exit-Entry] Your code is 1"
        );
        let signed = a.sign("【无境】x【无境】");
        assert_eq!(signed, "【广州市公安局出入境管理支队】x【无境】");
        assert_eq!(a.sign(&signed), signed, "a signed text is not signed again");
        assert_eq!(a.sign("plain"), "plain");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut a = Authority::product_default();
        a.name_zh = "  ".into();
        a.sign_zh = "【广州】".into();
        a.sign_en = "x".repeat(MAX_SIGN_CHARS + 1);
        a.hotline = "call us".into();
        a.name_en = "two\nlines".into();
        let fields: Vec<_> = a
            .normalised()
            .unwrap_err()
            .into_iter()
            .map(|i| i.field)
            .collect();
        for f in ["name_zh", "sign_zh", "sign_en", "hotline", "name_en"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn hotlines_are_dialable_numbers() {
        for ok in ["12367", "+86 20 8311 5808", "020-83115808"] {
            let mut a = Authority::product_default();
            a.hotline = ok.into();
            assert!(a.normalised().is_ok(), "{ok}");
        }
        for bad in ["12", "hotline", "12367;DROP"] {
            let mut a = Authority::product_default();
            a.hotline = bad.into();
            assert!(a.normalised().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_emblem_is_recognised_by_its_bytes_never_its_label() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend([0u8; 32]);
        assert_eq!(EmblemType::sniff(&png), Some(EmblemType::Png));
        assert_eq!(
            EmblemType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0xFF, 0xD9]),
            Some(EmblemType::Jpeg)
        );
        assert_eq!(EmblemType::sniff(b"<svg onload='x'/>"), None);
        assert_eq!(EmblemType::sniff(b"GIF89a"), None);
    }

    #[test]
    fn notices_split_into_paragraphs() {
        assert_eq!(Authority::paragraphs("a\n\n\nb\n\n"), vec!["a", "b"]);
        assert_eq!(Authority::paragraphs(PRIVACY_EN).len(), 4);
    }
}
