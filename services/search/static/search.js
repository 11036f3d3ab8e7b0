// Leave empty fields and the default order out of the search link, so it stays short and readable
// (/?q=summit rather than /?q=summit&quote=&speaker=&since=&until=&sort=relevance). The page works
// the same without this script.
document.querySelectorAll("form[role=search]").forEach((form) => {
  form.addEventListener("formdata", (event) => {
    for (const [name, value] of [...event.formData.entries()]) {
      if (value === "" || (name === "sort" && value === "relevance")) event.formData.delete(name);
    }
  });
});
