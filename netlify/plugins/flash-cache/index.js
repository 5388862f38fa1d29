// Keeps Flash's build cache (.flash-cache/: parsed files, image copies, PDFs of the printable
// edition) and the last published site (_site/, whose manifest tells Flash what each file was
// made from) in Netlify's build cache between deploys: a deploy then parses, renders and
// prints only what changed. Deleting either folder is always safe: Flash rebuilds it.
const FOLDERS = [".flash-cache", "_site"];

module.exports = {
  async onPreBuild({ utils }) {
    for (const folder of FOLDERS) {
      const restored = await utils.cache.restore(folder);
      console.log(`flash-cache: ${folder} ${restored ? "restored" : "not in the cache yet"}`);
    }
  },
  async onPostBuild({ utils }) {
    for (const folder of FOLDERS) {
      const saved = await utils.cache.save(folder);
      console.log(`flash-cache: ${folder} ${saved ? "saved" : "not saved"}`);
    }
  },
};
