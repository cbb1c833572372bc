// The files a SECOS submission names: a submission may only name files uploaded for it
// (POST /api/v1/attachments, usable once within an hour), so the sample's placeholder ids
// are replaced by real uploads first, as an integrating client does.
const PDF = '%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n'

export async function uploadSampleFiles (base, answers) {
  for (const key of ['risk_assessment_tool', 'assessment_document']) {
    if (typeof answers.assessments?.[key] !== 'string') continue
    const form = new FormData()
    form.append('service', 'secos')
    form.append('question', `assessments.${key}`)
    form.append('file', new Blob([PDF], { type: 'application/pdf' }), `${key}.pdf`)
    const r = await fetch(`${base}/api/v1/attachments`, { method: 'POST', body: form })
    if (r.status !== 201) throw new Error(`upload failed: ${r.status} ${await r.text()}`)
    answers.assessments[key] = (await r.json()).id
  }
  return answers
}
