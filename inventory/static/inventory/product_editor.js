// The product page: "Add another variant" copies the empty row of the variants formset,
// and the slug follows the name until someone types one.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const total = document.getElementById("id_variants-TOTAL_FORMS");
  const template = document.getElementById("variant-template");
  const body = document.getElementById("variants-body");
  const button = document.getElementById("add-variant");
  if (total && template && body && button) {
    button.addEventListener("click", () => {
      const index = Number(total.value);
      const html = template.innerHTML
        .replaceAll("__prefix__", String(index))
        .replaceAll("of variant new", `of variant ${index + 1}`);
      body.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      body.lastElementChild.querySelector("input")?.focus();
    });
  }
  const name = document.getElementById("id_name");
  const slug = document.getElementById("id_slug");
  if (name && slug && !slug.value) {
    let typed = false;
    slug.addEventListener("input", () => { typed = true; });
    name.addEventListener("input", () => {
      if (typed) return;
      slug.value = name.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
        .toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 150);
    });
  }
});
