"""The templates the notifier ships, in Bahasa Indonesia and English (seeded; an admin may edit them).

Each has an e-mail subject, an HTML body (autoescaped), a plain-text body and an SMS text. Variables
are listed per template in ``messages.SAMPLE_VARIABLES``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from sambang_contracts import Language

_FOOTER_ID = "Pesan ini dikirim otomatis oleh {{ office_name }}. Mohon tidak membalas e-mail ini."
_FOOTER_EN = "This message was sent automatically by {{ office_name }}. Please do not reply to this e-mail."


def _html(body: str, footer: str) -> str:
    return f"<p>{body}</p>\n<p><small>{footer}</small></p>"


def _text(body: str, footer: str) -> str:
    return f"{body}\n\n{footer}"


def _template(subject: str, body_html: str, body_text: str, sms: str, lang: Language) -> dict[str, str]:
    footer = _FOOTER_ID if lang == Language.ID else _FOOTER_EN
    return {"subject": subject, "html": _html(body_html, footer), "text": _text(body_text, footer), "sms": sms}


_ID = Language.ID
_EN = Language.EN


def _reminder(lang: Language) -> dict[str, str]:
    """The reminder the day before: a list of documents does not fit the one-paragraph shape of the others."""
    w = _REMINDER_WORDS[lang]
    footer = _FOOTER_ID if lang == Language.ID else _FOOTER_EN
    where = "{{ office_name }}{% if office_address %}, {{ office_address }}{% endif %}"
    when = "{{ visit_day }}, " + w["at"] + "{{ slot_start }}"
    html = (
        f"<p>{w['dear']} {{{{ name }}}},<br>{w['intro']} <strong>{{{{ receipt_number }}}}</strong>: "
        f"<strong>{when}&ndash;{{{{ slot_end }}}}</strong> {w['in']} {where}.</p>\n"
        f"<p>{w['bring']}</p>\n<ul>{{% for document in documents %}}<li>{{{{ document }}}}</li>{{% endfor %}}</ul>\n"
        f'{{% if arrival_url %}}<p>{w["confirm"]} <a href="{{{{ arrival_url }}}}">{w["this_link"]}</a>'
        f"{{% if arrival_expires %}} {w['before']} {{{{ arrival_expires }}}}{{% endif %}}.</p>\n{{% endif %}}"
        f"<p><small>{footer}</small></p>"
    )
    text = (
        f"{w['dear']} {{{{ name }}}},\n{w['intro']} {{{{ receipt_number }}}}: {when}-{{{{ slot_end }}}} "
        f"{w['in']} {where}.\n\n{w['bring']}\n{{% for document in documents %}}- {{{{ document }}}}\n{{% endfor %}}"
        f"{{% if arrival_url %}}\n{w['confirm']} {w['the_link']}{{% if arrival_expires %}} {w['before']} "
        f"{{{{ arrival_expires }}}}{{% endif %}}:\n{{{{ arrival_url }}}}\n{{% endif %}}\n{footer}"
    )
    # The link before the list: a provider that cuts a long text must not cut the link.
    sms = (
        f"{w['sms']} {{{{ visit_day }}}} {{{{ slot_start }}}}-{{{{ slot_end }}}}, {{{{ office_name }}}}."
        f"{{% if arrival_url %}} {w['sms_confirm']}: {{{{ arrival_url }}}}{{% endif %}}"
        f" {w['sms_bring']}: {{{{ documents | join(', ') }}}}."
    )
    return {"subject": w["subject"], "html": html, "text": text, "sms": sms}


_REMINDER_WORDS = {
    _ID: {
        "subject": "Pengingat jadwal kedatangan {{ visit_day }} ({{ receipt_number }})",
        "dear": "Yth.",
        "intro": "kami mengingatkan jadwal kedatangan Anda untuk pra-permohonan paspor",
        "at": "pukul ",
        "in": "di",
        "bring": "Dokumen yang perlu dibawa:",
        "confirm": "Anda belum mengonfirmasi kedatangan. Mohon konfirmasi melalui",
        "this_link": "tautan ini",
        "the_link": "tautan berikut",
        "before": "sebelum",
        "sms": "Pengingat jadwal paspor",
        "sms_confirm": "Konfirmasi kedatangan",
        "sms_bring": "Bawa",
    },
    _EN: {
        "subject": "Reminder of your appointment on {{ visit_day }} ({{ receipt_number }})",
        "dear": "Dear",
        "intro": "this is a reminder of your appointment for passport pre-application",
        "at": "",
        "in": "at",
        "bring": "Documents to bring:",
        "confirm": "You have not confirmed your arrival yet. Please confirm it through",
        "this_link": "this link",
        "the_link": "this link",
        "before": "before",
        "sms": "Reminder: passport appointment",
        "sms_confirm": "Confirm arrival",
        "sms_bring": "Bring",
    },
}

DEFAULTS: Final = MappingProxyType(
    {
        ("receipt", _ID): _template(
            "Tanda terima pra-permohonan {{ receipt_number }}",
            "Yth. {{ name }},<br>pra-permohonan paspor Anda telah kami terima dengan nomor tanda terima "
            "<strong>{{ receipt_number }}</strong>.<br>Jadwal kedatangan: {{ slot_date }}, pukul {{ slot_start }}"
            "&ndash;{{ slot_end }} di {{ office_name }}. Simpan nomor ini untuk membayar dan check-in.",
            "Yth. {{ name }},\npra-permohonan paspor Anda telah kami terima dengan nomor tanda terima "
            "{{ receipt_number }}.\nJadwal kedatangan: {{ slot_date }}, pukul {{ slot_start }}-{{ slot_end }} di "
            "{{ office_name }}. Simpan nomor ini untuk membayar dan check-in.",
            "Pra-permohonan paspor diterima. No. tanda terima {{ receipt_number }}, jadwal {{ slot_date }} "
            "{{ slot_start }}-{{ slot_end }}, {{ office_name }}.",
            _ID,
        ),
        ("receipt", _EN): _template(
            "Pre-application receipt {{ receipt_number }}",
            "Dear {{ name }},<br>we have received your passport pre-application under receipt number "
            "<strong>{{ receipt_number }}</strong>.<br>Your appointment: {{ slot_date }}, {{ slot_start }}"
            "&ndash;{{ slot_end }} at {{ office_name }}. Keep this number to pay and to check in.",
            "Dear {{ name }},\nwe have received your passport pre-application under receipt number "
            "{{ receipt_number }}.\nYour appointment: {{ slot_date }}, {{ slot_start }}-{{ slot_end }} at "
            "{{ office_name }}. Keep this number to pay and to check in.",
            "Passport pre-application received. Receipt {{ receipt_number }}, appointment {{ slot_date }} "
            "{{ slot_start }}-{{ slot_end }}, {{ office_name }}.",
            _EN,
        ),
        ("bill_issued", _ID): _template(
            "Kode billing paspor {{ receipt_number }}",
            "Yth. {{ name }},<br>silakan membayar <strong>{{ amount }}</strong> dengan kode billing "
            "<strong>{{ billing_code }}</strong> di bank, ATM, teller atau kantor pos sebelum {{ deadline }}. "
            "Jika tidak dibayar tepat waktu, jadwal Anda dibatalkan.",
            "Yth. {{ name }},\nsilakan membayar {{ amount }} dengan kode billing {{ billing_code }} di bank, ATM, "
            "teller atau kantor pos sebelum {{ deadline }}. Jika tidak dibayar tepat waktu, jadwal Anda dibatalkan.",
            "Bayar {{ amount }} dgn kode billing {{ billing_code }} sebelum {{ deadline }}. "
            "No. tanda terima {{ receipt_number }}.",
            _ID,
        ),
        ("bill_issued", _EN): _template(
            "Passport billing code {{ receipt_number }}",
            "Dear {{ name }},<br>please pay <strong>{{ amount }}</strong> with billing code "
            "<strong>{{ billing_code }}</strong> at a bank, ATM, teller or post office before {{ deadline }}. "
            "If it is not paid in time, your appointment is cancelled.",
            "Dear {{ name }},\nplease pay {{ amount }} with billing code {{ billing_code }} at a bank, ATM, teller "
            "or post office before {{ deadline }}. If it is not paid in time, your appointment is cancelled.",
            "Pay {{ amount }} with billing code {{ billing_code }} before {{ deadline }}. "
            "Receipt {{ receipt_number }}.",
            _EN,
        ),
        ("arrival_link", _ID): _template(
            "Konfirmasi kedatangan {{ receipt_number }}",
            "Yth. {{ name }},<br>pembayaran Anda telah kami terima. Mohon konfirmasi kedatangan Anda melalui "
            '<a href="{{ url }}">tautan ini</a> sebelum {{ link_expires }}.',
            "Yth. {{ name }},\npembayaran Anda telah kami terima. Mohon konfirmasi kedatangan Anda melalui "
            "tautan berikut sebelum {{ link_expires }}:\n{{ url }}",
            "Pembayaran diterima. Konfirmasi kedatangan sebelum {{ link_expires }}: {{ url }}",
            _ID,
        ),
        ("arrival_link", _EN): _template(
            "Confirm your arrival {{ receipt_number }}",
            "Dear {{ name }},<br>we have received your payment. Please confirm your arrival through "
            '<a href="{{ url }}">this link</a> before {{ link_expires }}.',
            "Dear {{ name }},\nwe have received your payment. Please confirm your arrival through this link "
            "before {{ link_expires }}:\n{{ url }}",
            "Payment received. Confirm your arrival before {{ link_expires }}: {{ url }}",
            _EN,
        ),
        ("bill_expired", _ID): _template(
            "Tagihan kedaluwarsa, jadwal dibatalkan {{ receipt_number }}",
            "Yth. {{ name }},<br>tagihan untuk pra-permohonan <strong>{{ receipt_number }}</strong> tidak dibayar "
            "sampai batas waktunya, sehingga jadwal kedatangan Anda telah dibatalkan dan kuotanya dilepas. "
            "Silakan mendaftar kembali untuk memilih jadwal baru.",
            "Yth. {{ name }},\ntagihan untuk pra-permohonan {{ receipt_number }} tidak dibayar sampai batas "
            "waktunya, sehingga jadwal kedatangan Anda telah dibatalkan dan kuotanya dilepas. Silakan mendaftar "
            "kembali untuk memilih jadwal baru.",
            "Tagihan {{ receipt_number }} kedaluwarsa; jadwal Anda dibatalkan. Silakan mendaftar kembali.",
            _ID,
        ),
        ("bill_expired", _EN): _template(
            "Bill expired, appointment released {{ receipt_number }}",
            "Dear {{ name }},<br>the bill of pre-application <strong>{{ receipt_number }}</strong> was not paid "
            "before its deadline, so your appointment has been cancelled and its place released. "
            "Please register again to choose a new appointment.",
            "Dear {{ name }},\nthe bill of pre-application {{ receipt_number }} was not paid before its deadline, "
            "so your appointment has been cancelled and its place released. Please register again to choose "
            "a new appointment.",
            "Bill {{ receipt_number }} expired; your appointment was released. Please register again.",
            _EN,
        ),
        ("ticket", _ID): _template(
            "Nomor antrean {{ ticket }}",
            "Yth. {{ name }},<br>Anda telah check-in di {{ office_name }}. Nomor antrean Anda: "
            "<strong>{{ ticket }}</strong>.{% if priority %} Silakan duduk di kursi prioritas "
            "<strong>{{ seat }}</strong>; petugas akan mendatangi Anda.{% endif %}",
            "Yth. {{ name }},\nAnda telah check-in di {{ office_name }}. Nomor antrean Anda: {{ ticket }}."
            "{% if priority %} Silakan duduk di kursi prioritas {{ seat }}; petugas akan mendatangi Anda.{% endif %}",
            "Nomor antrean Anda {{ ticket }} di {{ office_name }}.{% if priority %} Kursi prioritas {{ seat }}, "
            "petugas akan mendatangi Anda.{% endif %}",
            _ID,
        ),
        ("ticket", _EN): _template(
            "Your ticket {{ ticket }}",
            "Dear {{ name }},<br>you have checked in at {{ office_name }}. Your ticket: "
            "<strong>{{ ticket }}</strong>.{% if priority %} Please take priority seat <strong>{{ seat }}</strong>; "
            "an officer will come to you.{% endif %}",
            "Dear {{ name }},\nyou have checked in at {{ office_name }}. Your ticket: {{ ticket }}."
            "{% if priority %} Please take priority seat {{ seat }}; an officer will come to you.{% endif %}",
            "Your ticket is {{ ticket }} at {{ office_name }}.{% if priority %} Priority seat {{ seat }}, "
            "an officer will come to you.{% endif %}",
            _EN,
        ),
        ("near_turn", _ID): _template(
            "Giliran Anda segera tiba ({{ ticket }})",
            "Yth. {{ name }},<br>nomor antrean <strong>{{ ticket }}</strong> tinggal {{ position }} antrean lagi."
            "{% if estimated_wait %} Perkiraan waktu tunggu: {{ estimated_wait }}.{% endif %} "
            "Mohon bersiap di dekat loket.",
            "Yth. {{ name }},\nnomor antrean {{ ticket }} tinggal {{ position }} antrean lagi."
            "{% if estimated_wait %} Perkiraan waktu tunggu: {{ estimated_wait }}.{% endif %} "
            "Mohon bersiap di dekat loket.",
            "Antrean {{ ticket }}: giliran Anda segera tiba ({{ position }} lagi"
            "{% if estimated_wait %}, {{ estimated_wait }}{% endif %}). Mohon bersiap di dekat loket.",
            _ID,
        ),
        ("near_turn", _EN): _template(
            "Your turn is near ({{ ticket }})",
            "Dear {{ name }},<br>ticket <strong>{{ ticket }}</strong> is {{ position }} away from being called."
            "{% if estimated_wait %} Estimated wait: {{ estimated_wait }}.{% endif %} "
            "Please be ready near the counters.",
            "Dear {{ name }},\nticket {{ ticket }} is {{ position }} away from being called."
            "{% if estimated_wait %} Estimated wait: {{ estimated_wait }}.{% endif %} "
            "Please be ready near the counters.",
            "Ticket {{ ticket }}: your turn is near ({{ position }} to go"
            "{% if estimated_wait %}, {{ estimated_wait }}{% endif %}). Please be ready near the counters.",
            _EN,
        ),
        ("passport_ready", _ID): _template(
            "Paspor Anda siap diambil",
            "Yth. {{ name }},<br>paspor untuk permohonan <strong>{{ receipt_number }}</strong> telah terbit dan "
            "dapat diambil di {{ office_name }} mulai <strong>{{ pickup_from }}</strong>. Bawa KTP asli Anda.",
            "Yth. {{ name }},\npaspor untuk permohonan {{ receipt_number }} telah terbit dan dapat diambil di "
            "{{ office_name }} mulai {{ pickup_from }}. Bawa KTP asli Anda.",
            "Paspor {{ receipt_number }} dapat diambil di {{ office_name }} mulai {{ pickup_from }}. Bawa KTP asli.",
            _ID,
        ),
        ("passport_ready", _EN): _template(
            "Your passport is ready for pickup",
            "Dear {{ name }},<br>the passport of application <strong>{{ receipt_number }}</strong> has been issued "
            "and can be collected at {{ office_name }} from <strong>{{ pickup_from }}</strong>. "
            "Bring your original identity card (KTP).",
            "Dear {{ name }},\nthe passport of application {{ receipt_number }} has been issued and can be "
            "collected at {{ office_name }} from {{ pickup_from }}. Bring your original identity card (KTP).",
            "Passport {{ receipt_number }} can be collected at {{ office_name }} from {{ pickup_from }}. "
            "Bring your KTP.",
            _EN,
        ),
        ("passport_collected", _ID): _template(
            "Paspor telah diambil",
            "Yth. {{ name }},<br>paspor untuk permohonan <strong>{{ receipt_number }}</strong> telah diambil "
            "{% if by_proxy %}oleh kuasa Anda {% endif %}pada {{ collected_at }}. Jika ini bukan Anda, segera "
            "hubungi {{ office_name }}.",
            "Yth. {{ name }},\npaspor untuk permohonan {{ receipt_number }} telah diambil "
            "{% if by_proxy %}oleh kuasa Anda {% endif %}pada {{ collected_at }}. Jika ini bukan Anda, segera "
            "hubungi {{ office_name }}.",
            "Paspor {{ receipt_number }} telah diambil{% if by_proxy %} oleh kuasa{% endif %} pada "
            "{{ collected_at }}. Bukan Anda? Hubungi {{ office_name }}.",
            _ID,
        ),
        ("passport_collected", _EN): _template(
            "Your passport has been collected",
            "Dear {{ name }},<br>the passport of application <strong>{{ receipt_number }}</strong> was collected "
            "{% if by_proxy %}by your proxy {% endif %}on {{ collected_at }}. If this was not you, contact "
            "{{ office_name }} at once.",
            "Dear {{ name }},\nthe passport of application {{ receipt_number }} was collected "
            "{% if by_proxy %}by your proxy {% endif %}on {{ collected_at }}. If this was not you, contact "
            "{{ office_name }} at once.",
            "Passport {{ receipt_number }} collected{% if by_proxy %} by a proxy{% endif %} on {{ collected_at }}. "
            "Not you? Contact {{ office_name }}.",
            _EN,
        ),
        ("cancelled", _ID): _template(
            "Pra-permohonan dibatalkan {{ receipt_number }}",
            "Yth. {{ name }},<br>pra-permohonan <strong>{{ receipt_number }}</strong> telah dibatalkan {{ reason }}.",
            "Yth. {{ name }},\npra-permohonan {{ receipt_number }} telah dibatalkan {{ reason }}.",
            "Pra-permohonan {{ receipt_number }} dibatalkan {{ reason }}.",
            _ID,
        ),
        ("cancelled", _EN): _template(
            "Pre-application cancelled {{ receipt_number }}",
            "Dear {{ name }},<br>pre-application <strong>{{ receipt_number }}</strong> has been cancelled "
            "{{ reason }}.",
            "Dear {{ name }},\npre-application {{ receipt_number }} has been cancelled {{ reason }}.",
            "Pre-application {{ receipt_number }} cancelled {{ reason }}.",
            _EN,
        ),
        ("visit_reminder", _ID): _reminder(_ID),
        ("visit_reminder", _EN): _reminder(_EN),
    }
)
