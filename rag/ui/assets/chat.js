// Citations and copying for the chat. Gradio re-renders messages as they stream, so the
// handlers listen on the document (capture phase, before Gradio's own link handling).
(() => {
  const COPY_LABEL = 'Copy answer with citations';

  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const cite = target && target.closest('a.rag-cite');
    if (cite) {
      event.preventDefault();
      event.stopPropagation();
      openSource(cite.getAttribute('href').slice(1));
      return;
    }
    const copy = target && target.closest('button.rag-copy');
    if (copy) {
      event.preventDefault();
      event.stopPropagation();
      copyAnswer(copy);
    }
  }, true);

  // [n] opens that source under the answer, scrolls to it and briefly highlights it.
  function openSource(id) {
    const source = document.getElementById(id);
    if (!source) return;
    source.open = true;
    source.classList.add('rag-flash');
    setTimeout(() => source.classList.remove('rag-flash'), 1500);
    source.scrollIntoView({block: 'nearest', behavior: 'smooth'});
    const summary = source.querySelector('summary');
    if (summary) summary.focus({preventScroll: true});
  }

  // The answer as plain text with its [n] markers, then each source with its quote.
  function answerWithCitations(message) {
    const answer = message.querySelector('.rag-answer');
    const lines = [answer ? answer.innerText.trim() : ''];
    const sources = message.querySelectorAll('details.rag-source');
    if (sources.length) lines.push('', 'Sources:');
    sources.forEach((source) => {
      const n = (source.querySelector('.rag-n') || {}).textContent || '';
      const title = source.querySelector('summary').textContent.replace(n, '').trim();
      const mark = source.querySelector('mark');
      const origin = source.querySelector('.rag-origin');
      const where = origin ? (origin.getAttribute('href') || origin.textContent) : '';
      lines.push(`${n} ${title}${where ? ' — ' + where : ''}`);
      if (mark) lines.push(`    “${mark.textContent.replace(/\s+/g, ' ').trim()}”`);
    });
    return lines.join('\n');
  }

  async function copyAnswer(button) {
    const message = button.closest('.rag-msg');
    if (!message) return;
    const text = answerWithCitations(message);
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch (error) {
      // No clipboard API outside a secure context (plain http on a LAN address): the old way.
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      try { copied = document.execCommand('copy'); } catch (ignored) { copied = false; }
      area.remove();
    }
    button.textContent = copied ? 'Copied ✓' : 'Could not copy: select the text instead';
    button.dataset.copied = copied ? 'yes' : 'no';
    setTimeout(() => { button.textContent = COPY_LABEL; }, 2000);
  }

  window.ragAnswerWithCitations = answerWithCitations;
})();
