// A figure shrunk to the column opens full size on click, over the page; a click or Escape closes it.
// Event delegation on the document: with Material's instant navigation, pages are swapped in without
// a reload, and a listener on the document keeps working for every page.
document.addEventListener("click", (event) => {
  const open = document.querySelector(".zoomed-figure");
  if (open) {
    open.remove();
    return;
  }
  const image = event.target.closest("article img");
  if (!image || image.closest("a")) return;
  const overlay = document.createElement("div");
  overlay.className = "zoomed-figure";
  overlay.appendChild(image.cloneNode());
  document.body.appendChild(overlay);
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") document.querySelector(".zoomed-figure")?.remove();
});
